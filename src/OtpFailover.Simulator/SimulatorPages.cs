using System.Globalization;
using System.Net;
using System.Text;

namespace OtpFailover.Simulator;

/// <summary>The simulator's pages: plain server-rendered HTML, plus a little script for the try-it panel.</summary>
public static class SimulatorPages
{
    private const string Style = """
        <style>
          body { font-family: system-ui, sans-serif; margin: 2rem; max-width: 60rem; color: #1b1b1b; }
          h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
          table { border-collapse: collapse; width: 100%; } td, th { border-bottom: 1px solid #ddd; padding: .4rem; text-align: left; }
          .code { font: 600 1.2rem ui-monospace, monospace; letter-spacing: .1em; }
          .state { padding: .1rem .5rem; border-radius: .8rem; background: #eee; }
          .state.delivered, .state.read { background: #d6f5d6; } .state.failed { background: #f8d7da; }
          ol.timeline { list-style: none; padding: 0; display: flex; flex-wrap: wrap; gap: .4rem; }
          ol.timeline li { padding: .3rem .6rem; border-radius: .3rem; background: #e8eefc; }
          ol.timeline li.end { background: #d6f5d6; } ol.timeline li.bad { background: #f8d7da; }
          ol.plan { list-style: none; padding: 0; display: flex; gap: .4rem; } ol.plan li { padding: .3rem .6rem; border: 1px solid #bbb; border-radius: .3rem; }
          ol.plan li.current { border-color: #1b1b1b; font-weight: 600; }
          ol.plan li.delivered, ol.plan li.read { background: #d6f5d6; } ol.plan li.failed, ol.plan li.refused { background: #f8d7da; }
          form { margin: .5rem 0; } input, select, button { font-size: 1rem; padding: .3rem .5rem; }
          .notice { padding: .6rem .8rem; border-radius: .3rem; background: #f8d7da; border: 1px solid #e0a0a8; }
          .notice strong { margin-right: .4rem; }
        </style>
        """;

    public static string Home(PhoneSimulator phones)
    {
        var rows = new StringBuilder();
        foreach (var number in phones.Numbers)
        {
            var inbox = phones.Inbox(number);
            rows.Append(CultureInfo.InvariantCulture, $"<tr><td><a href=\"/inbox/{number}\">+{number}</a></td><td>{inbox.Count}</td><td>{Encode(phones.BehaviourOf(number).WhatsApp.ToString())}</td></tr>");
        }

        return $$"""
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>OtpFailover simulator</title>{{Style}}</head><body>
            <h1>OtpFailover provider simulator</h1>
            <p>Stands in for the WhatsApp Cloud API and Azure Communication Services SMS. Numbers behave by their last digit
            (0–3 deliver, 4–5 deliver and read, 6–7 stay silent so the SMS goes out, 8 not on WhatsApp, 9 silent and the SMS fails)
            unless you choose otherwise on a number's inbox page.</p>
            <h2>Try it</h2>
            <form id="start"><input id="phone" name="phone" value="+14155550100" aria-label="Phone number">
              <select id="channels" aria-label="Channels">
                <option value="">the app's plan (by country)</option><option value="whatsapp,sms">WhatsApp, then SMS</option>
                <option value="sms,whatsapp">SMS, then WhatsApp</option><option value="whatsapp">WhatsApp only</option><option value="sms">SMS only</option>
              </select>
              <select id="locale" aria-label="Language">
                <option value="">the app's language</option><option>en</option><option>es</option><option>pt-BR</option><option>hi</option>
                <option>id</option><option>de</option><option>fr</option>
              </select>
              <button>Start a verification</button></form>
            <p id="notice" class="notice" role="alert" hidden></p>
            <div id="verification" hidden>
              <p>Verification <span id="vid"></span>: <strong id="status"></strong> on <span id="channel"></span>.
                 <a id="inboxlink" href="#">Open the phone's inbox</a></p>
              <ol class="plan" id="plan" aria-label="Channel plan"></ol>
              <ol class="timeline" id="timeline"></ol>
              <form id="check"><input id="code" aria-label="Code" placeholder="code"> <button>Check the code</button> <span id="answer"></span></form>
              <form id="resend"><button>Try the next channel</button></form>
            </div>
            <h2>Phones</h2>
            <table><thead><tr><th>Number</th><th>Messages</th><th>WhatsApp behaviour</th></tr></thead><tbody id="phones">{{rows}}</tbody></table>
            <script>
              let id = null;
              const $ = s => document.querySelector(s);
              const ends = ['approved'], bad = ['failed', 'expired', 'canceled', 'max_attempts_reached', 'whatsapp.failed', 'sms.failed', 'failover'];
              async function call(method, path, body) {
                const r = await fetch(path, { method, headers: { 'content-type': 'application/json' }, body: body ? JSON.stringify(body) : undefined });
                return { status: r.status, retryAfter: r.headers.get('retry-after'), body: await r.json().catch(() => ({})) };
              }
              // A refusal is shown as it came: the status, the problem's title and detail, and when to try again.
              function notify(r) {
                const notice = $('#notice');
                if (r.status < 400) { notice.hidden = true; return; }
                notice.innerHTML = '';
                const status = document.createElement('strong');
                status.textContent = r.status + ' ' + (r.body.title || '');
                notice.append(status, document.createTextNode((r.body.detail || '') + (r.retryAfter ? ' (Retry-After: ' + r.retryAfter + ' s)' : '')));
                notice.dataset.status = r.status;
                notice.dataset.type = r.body.type || '';
                notice.hidden = false;
              }
              async function refresh() {
                if (!id) return;
                const r = await call('GET', '/try/verifications/' + id);
                $('#status').textContent = r.body.status; $('#channel').textContent = r.body.channel;
                $('#plan').innerHTML = '';
                for (const c of r.body.channels || []) {
                  const li = document.createElement('li');
                  li.className = c.state + (c.channel === r.body.channel ? ' current' : '');
                  li.dataset.channel = c.channel; li.dataset.state = c.state;
                  li.textContent = c.channel + ': ' + c.state + (c.detail ? ' (' + c.detail + ')' : '');
                  $('#plan').append(li);
                }
                $('#timeline').innerHTML = (r.body.timeline || []).map(e =>
                  `<li class="${ends.includes(e.type) ? 'end' : bad.includes(e.type) ? 'bad' : ''}">${e.type}${e.reason ? ' (' + e.reason + (e.channel ? ' → ' + e.channel : '') + ')' : ''}</li>`).join('');
              }
              $('#start').onsubmit = async ev => {
                ev.preventDefault();
                const phone = $('#phone').value;
                const start = { phoneNumber: phone };
                if ($('#channels').value) start.channels = $('#channels').value.split(',');
                if ($('#locale').value) start.locale = $('#locale').value;
                const r = await call('POST', '/try/verifications', start);
                notify(r);
                if (r.status !== 202) return;
                id = r.body.id; $('#vid').textContent = id; $('#verification').hidden = false;
                $('#inboxlink').href = '/inbox/' + phone.replace(/\D/g, '');
                refresh();
              };
              $('#check').onsubmit = async ev => {
                ev.preventDefault();
                const r = await call('POST', '/try/verifications/' + id + '/check', { code: $('#code').value });
                $('#answer').textContent = r.status === 200 ? 'approved' : (r.body.title || r.status);
                notify(r);
                refresh();
              };
              $('#resend').onsubmit = async ev => { ev.preventDefault(); notify(await call('POST', '/try/verifications/' + id + '/resend')); refresh(); };
              setInterval(refresh, 1000);
            </script>
            </body></html>
            """;
    }

    public static string Inbox(PhoneSimulator phones, string number)
    {
        var digits = PhoneSimulator.Digits(number);
        var (whatsApp, sms) = phones.BehaviourOf(digits);
        var rows = new StringBuilder();
        foreach (var message in phones.Inbox(digits).Reverse())
        {
            rows.Append(CultureInfo.InvariantCulture, $"""
                <tr class="message"><td>{message.ReceivedAt:HH:mm:ss}</td><td class="channel">{Encode(message.Channel)}</td>
                <td><span class="code">{Encode(message.Code)}</span><br><small>{Encode(message.Text)}</small></td>
                <td><span class="state {Encode(message.State)}">{Encode(message.State)}</span></td></tr>
                """);
        }

        string Options<T>(T selected)
            where T : struct, Enum =>
            string.Concat(Enum.GetNames<T>().Select(name => $"<option{(name == selected.ToString() ? " selected" : string.Empty)}>{name}</option>"));

        return $$"""
            <!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="2"><title>+{{digits}}: inbox</title>{{Style}}</head><body>
            <p><a href="/">← simulator</a></p>
            <h1>+{{digits}}</h1>
            <form method="post" action="/inbox/{{digits}}/behaviour">
              WhatsApp: <select name="whatsApp" id="whatsApp">{{Options(whatsApp)}}</select>
              SMS: <select name="sms" id="sms">{{Options(sms)}}</select>
              <button id="choose">Use for this number</button>
            </form>
            <table><thead><tr><th>At</th><th>Channel</th><th>Message</th><th>State</th></tr></thead><tbody>{{rows}}</tbody></table>
            </body></html>
            """;
    }

    private static string Encode(string value) => WebUtility.HtmlEncode(value);
}
