import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

import { chromium, type Browser, type Page } from 'playwright-core';

const ROOT = path.resolve(__dirname, '../../../../..');
const SCREENSHOTS = path.join(ROOT, '.run/test-results/screenshots');
const ACCESSIBILITY_CHECK = readFileSync(path.join(__dirname, 'accessibility-check.js'), 'utf8');

/** Screenshots that the README shows; copied into docs/images when UPDATE_SCREENSHOTS=1. */
const README_IMAGES: Record<string, string> = {
  'cards-table': 'docs/images/console-cards.png',
  'card-timeline': 'docs/images/console-timeline.png',
};

/** Debian's chromium (scripts/ensure-chromium.sh installs it); CHROMIUM_PATH points elsewhere. */
export function chromiumPath(): string {
  return process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
}

/** A headless Chromium; fails with the way out when none is installed. */
export async function launchBrowser(): Promise<Browser> {
  const executablePath = chromiumPath();
  if (!existsSync(executablePath)) {
    throw new Error(
      `Chromium was not found at ${executablePath}. The browser tests need it: run scripts/ensure-chromium.sh ` +
        '(installs Debian’s chromium package with apt-get), or set CHROMIUM_PATH to a Chromium binary.',
    );
  }
  return chromium.launch({ executablePath, headless: true });
}

/** Saves a screenshot of the page as a test artefact; the README's two are also refreshed on demand. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  const readmeImage = README_IMAGES[name];
  if (readmeImage && process.env['UPDATE_SCREENSHOTS'] === '1') {
    mkdirSync(path.dirname(path.join(ROOT, readmeImage)), { recursive: true });
    copyFileSync(file, path.join(ROOT, readmeImage));
  }
  return file;
}

/** Opens the console and signs in by pasting `token`, as an operator does; resolves on the cards screen. */
export async function signIn(page: Page, baseUrl: string, token: string, hash = '#/cards'): Promise<void> {
  await page.goto(`${baseUrl}/admin/${hash}`);
  await page.getByLabel('Access token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** What the accessibility check found wrong on one screen; empty lists when all is well. */
export interface AccessibilityReport {
  unlabelledControls: string[];
  positiveTabindex: string[];
  imagesWithoutAlt: string[];
  unnamedButtons: string[];
  tablesWithoutCaption: string[];
  headerCellsWithoutScope: string[];
  lowContrastText: string[];
  landmarks: { header: number; nav: number; main: number; h1: number; liveRegions: number };
}

/**
 * A basic automated accessibility check of the page as rendered: every form control has a label, no tabindex above
 * 0, images have alt text, buttons have names, tables have a caption and scoped headers, text contrasts with its
 * background at 4.5:1 at least (WCAG AA, computed from the styles Chromium applied), the landmarks exist.
 */
export async function accessibilityReport(page: Page): Promise<AccessibilityReport> {
  const report: unknown = await page.evaluate(ACCESSIBILITY_CHECK);
  return report as AccessibilityReport;
}
