// A cycle between two folders, kept on purpose: FolderRulesTests proves its rule refuses it.
namespace OtpFailover.Tests.Layering.CycleSample.Left
{
    internal sealed class LeftType
    {
        public Right.RightType? Other { get; set; }
    }
}

namespace OtpFailover.Tests.Layering.CycleSample.Right
{
    internal sealed class RightType
    {
        public Left.LeftType? Other { get; set; }
    }
}
