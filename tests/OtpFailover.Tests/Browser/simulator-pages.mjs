// Usage: node simulator-pages.mjs <simulator base URL> <inbox digits> <try-it phone number> <plan phone number>
// Opens a phone's inbox page, reads the code and its state, changes the number's behaviour through the form,
// then starts a verification in the try-it panel and waits for its timeline to show the WhatsApp send, and starts
// the same number until its limit answers 429, which the panel must show. Then starts another number with SMS first,
// in Spanish, waits for the plan to show the SMS sent, asks for the next channel and waits for WhatsApp's progress.
// Prints one JSON object; exits non-zero on any failure.
import { chromium } from 'playwright-core';

const [baseUrl, digits, tryNumber, planNumber] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage();
  await page.goto(new URL(`inbox/${digits}`, baseUrl).href);
  const code = (await page.locator('tr.message .code').first().textContent()).trim();
  const state = (await page.locator('tr.message .state').first().textContent()).trim();

  await page.selectOption('#whatsApp', 'Silent');
  await page.selectOption('#sms', 'Failed');
  await Promise.all([page.waitForURL(`**/inbox/${digits}`), page.click('#choose')]);
  const chosen = { whatsApp: await page.locator('#whatsApp').inputValue(), sms: await page.locator('#sms').inputValue() };

  await page.goto(baseUrl);
  await page.fill('#phone', tryNumber);
  await page.click('#start button');
  await page.locator('#timeline li', { hasText: 'whatsapp.sent' }).waitFor({ timeout: 20000 });
  const timeline = await page.locator('#timeline li').allTextContents();

  // Starting the same number again and again meets its limit: the panel must say so plainly.
  const notice = page.locator('#notice');
  for (let i = 0; i < 10 && !(await notice.isVisible() && (await notice.getAttribute('data-status')) === '429'); i++) {
    await page.click('#start button');
    await page.waitForTimeout(300);
  }
  const refusal = { status: await notice.getAttribute('data-status'), type: await notice.getAttribute('data-type'), text: (await notice.textContent()).trim() };

  // A plan of the visitor's choosing, in a language of their choosing, and its progress as the panel draws it.
  await page.fill('#phone', planNumber);
  await page.selectOption('#channels', 'sms,whatsapp');
  await page.selectOption('#locale', 'es');
  await page.click('#start button');
  await page.locator('#plan li[data-channel="sms"]:is([data-state="sent"], [data-state="delivered"])').waitFor({ timeout: 20000 });
  const planBefore = await page.locator('#plan li').allTextContents();
  await page.click('#resend button');
  await page.locator('#plan li[data-channel="whatsapp"]:not([data-state="planned"])').waitFor({ timeout: 20000 });
  const planAfter = await page.locator('#plan li').allTextContents();
  const current = (await page.locator('#plan li.current').textContent()).trim();
  await page.goto(new URL(`inbox/${planNumber.replace(/\D/g, '')}`, baseUrl).href);
  const smsText = (await page.locator('tr.message', { hasText: 'sms' }).locator('small').first().textContent()).trim();

  console.log(JSON.stringify({ code, state, chosen, timeline, refusal, plan: { before: planBefore, after: planAfter, current, smsText } }));
} finally {
  await browser.close();
}
