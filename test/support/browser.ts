import { existsSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';
import { test } from 'uvu';

// The console is plain browser code, tested in a real headless Chromium (CI installs Debian's package).
export const CHROMIUM = '/usr/bin/chromium';
export const chromiumPresent = existsSync(CHROMIUM);

/** uvu's `test`, or `test.skip` with a warning naming the file when Chromium is missing. */
export function browserTestFor(file: string): typeof test {
  if (chromiumPresent) return test;
  console.warn(`${file}: skipped, ${CHROMIUM} not found (apt-get install -y chromium)`);
  return test.skip as unknown as typeof test;
}

export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', ...extraArgs],
  });
}

/** Signs in through the login page as a user would, lands on `path` and waits for `readySelector`. */
export async function signIn(page: Page, url: string, secret: string, path = '/', readySelector = '#calls'): Promise<void> {
  await page.goto(url + path);
  await page.waitForSelector('#login #token', { timeout: 10000 });
  await page.fill('#token', secret);
  await page.click('#login button[type=submit]');
  await page.waitForSelector(readySelector, { timeout: 10000 });
}

/** An attribute of every element matching `selector`, in document order (no DOM types in this Node project). */
export async function attributes(page: Page, selector: string, name: string): Promise<(string | null)[]> {
  const elements = page.locator(selector);
  const values: (string | null)[] = [];
  for (let i = 0; i < (await elements.count()); i++) values.push(await elements.nth(i).getAttribute(name));
  return values;
}

/** A page that collects its uncaught errors, so a test can assert there were none. */
export async function newPage(browser: Browser): Promise<{ page: Page; errors: string[] }> {
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (err) => errors.push(err.message));
  return { page, errors };
}
