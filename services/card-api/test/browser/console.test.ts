import { randomUUID } from 'node:crypto';

import { CardSchema } from '@cards/contracts';
import { createKafka } from '@cards/messaging';
import { createLogger } from '@cards/runtime';
import { eventually, testKafkaBrokers } from '@cards/test-support';
import type { Producer } from 'kafkajs';
import type { Browser, BrowserContext, Page } from 'playwright-core';

import { mintToken } from '../../src/entry-points/cli/dev-token';
import { buildCardRequest } from '../support/card-api';
import { startSaga, type SagaHarness } from '../support/saga';
import { accessibilityReport, launchBrowser, screenshot, signIn } from './support/browser';

/**
 * The operator console in a real headless Chromium against the whole saga (card-api, outbox-relay,
 * card-events-consumer, provider-worker, mock-provider, PostgreSQL, Kafka): no part of the API is mocked.
 * One stack for the file keeps the suite quick; each test has a browser context (and so a session) of its own.
 */
describe('operator console (/admin) in a browser', () => {
  let saga: SagaHarness;
  let browser: Browser;
  let producer: Producer;
  let resultsTopic: string;
  const contexts: BrowserContext[] = [];
  /** Every URL the browser asked for, and every uncaught page error, per page. */
  const requested: string[] = [];
  const pageErrors: string[] = [];
  const cspViolations: string[] = [];

  beforeAll(async () => {
    [saga, browser] = await Promise.all([
      startSaga('browser-console', {
        // A PENDING card counts as stuck after 2 s, so a slow provider shows the badge within one test.
        cardApi: { ADMIN_STUCK_PENDING_SECONDS: '2', CARD_LIMIT_PER_USER: '50' },
        // The provider is made slow (6 s) on purpose below; the worker must wait for it rather than time out.
        providerWorker: { PROVIDER_TIMEOUT_MS: '15000' },
      }),
      launchBrowser(),
    ]);
    resultsTopic = saga.topicEnv['TOPIC_PROVISIONING_RESULTS'] ?? '';
    producer = createKafka(
      { clientId: 'test-browser', brokers: testKafkaBrokers() },
      createLogger({ service: 'test', level: 'silent' }),
    ).producer();
    await producer.connect();
  }, 120_000);

  afterAll(async () => {
    await Promise.all(contexts.map((context) => context.close()));
    await browser.close();
    await producer.disconnect();
    await saga.stop();
  });

  afterEach(() => {
    // In every test: the token never travels in a URL, the console never throws, the CSP never had to block.
    const leaks = requested.filter((url) => url.includes(saga.adminToken));
    const problems = [...leaks.map((url) => `token in a URL: ${url}`), ...pageErrors, ...cspViolations];
    requested.length = 0;
    pageErrors.length = 0;
    cspViolations.length = 0;
    if (problems.length > 0) {
      throw new Error(`the console misbehaved:\n${problems.join('\n')}`);
    }
  });

  async function newPage(): Promise<Page> {
    const context = await browser.newContext({ viewport: { width: 1360, height: 900 } });
    contexts.push(context);
    const page = await context.newPage();
    page.on('request', (request) => requested.push(request.url()));
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) {
        cspViolations.push(message.text());
      }
    });
    return page;
  }

  const token = (page: Page): Promise<unknown> =>
    page.evaluate("sessionStorage.getItem('cards-console.token')");
  const heading = (page: Page, name: string | RegExp) => page.getByRole('heading', { level: 1, name });

  async function requestCard(userToken: string, color: string): Promise<string> {
    const response = await saga.request('/v1/cards', {
      method: 'POST',
      token: userToken,
      body: buildCardRequest({ color }),
    });
    expect(response.status).toBe(202);
    return CardSchema.parse(await response.json()).id;
  }

  it('when /admin and its files are fetched, then each has its content type, is revalidated, and runs under the strict CSP with nothing inline', async () => {
    const get = (path: string) => fetch(`${saga.api.url}${path}`, { redirect: 'manual' });

    const bare = await get('/admin');
    expect([bare.status, bare.headers.get('location')]).toEqual([301, '/admin/']);

    const index = await get('/admin/');
    const html = await index.text();
    expect(index.status).toBe(200);
    expect(index.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(index.headers.get('cache-control')).toBe('no-cache');
    const csp = index.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("default-src 'self'");
    expect(html).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=|https?:\/\//);

    const script = await get('/admin/js/main.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(script.headers.get('etag')).toBeTruthy();
    const styles = await get('/admin/console.css');
    expect(styles.headers.get('content-type')).toBe('text/css; charset=utf-8');

    // Only the emitted modules are served from the build output, not what tsc writes beside them.
    for (const path of ['/admin/js/main.d.ts', '/admin/js/.tsbuildinfo', '/admin/js/../main-api.js']) {
      expect({ path, status: (await get(path)).status }).toEqual({ path, status: 404 });
    }
  });

  it('when an administrator pastes their token, then the console opens on the cards, keeps the token in this tab’s sessionStorage only, and signing out forgets it', async () => {
    const page = await newPage();

    await page.goto(`${saga.api.url}/admin`);
    await heading(page, 'Sign in').waitFor();
    expect(page.url()).toBe(`${saga.api.url}/admin/`);
    await screenshot(page, 'sign-in');

    await page.getByLabel('Access token').fill(`Bearer ${saga.adminToken}`);
    await page.getByRole('button', { name: 'Sign in' }).click();

    await heading(page, 'Cards').waitFor();
    expect(page.url()).toBe(`${saga.api.url}/admin/#/cards`);
    expect(await page.locator('#signed-in-as').textContent()).toBe(
      `Signed in as ${saga.config.ADMIN_EXTERNAL_ID}`,
    );
    expect(await token(page)).toBe(saga.adminToken);
    expect(await page.evaluate('localStorage.length')).toBe(0);
    expect(await page.context().cookies()).toEqual([]);

    await page.getByRole('button', { name: 'Sign out' }).click();

    await heading(page, 'Sign in').waitFor();
    expect(await token(page)).toBeNull();
    expect(await page.getByRole('navigation', { name: 'Main' }).isHidden()).toBe(true);
  });

  it('when the token is not an administrator’s, or not valid, then sign-in refuses it and says which', async () => {
    const user = await saga.createUser();
    const page = await newPage();
    await page.goto(`${saga.api.url}/admin/`);

    await page.getByLabel('Access token').fill(user.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('This token does not belong to an administrator.').waitFor();

    await page.getByLabel('Access token').fill('not-a-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').getByText('This token is not valid or has expired.').waitFor();

    expect(await token(page)).toBeNull();
    expect(await page.getByRole('navigation', { name: 'Main' }).isHidden()).toBe(true);
  });

  it('when the token expires during the session, then the next call returns the console to sign-in with the reason', async () => {
    const page = await newPage();
    await signIn(page, saga.api.url, saga.adminToken);
    const expired = await mintToken(saga.config.ADMIN_EXTERNAL_ID, saga.config, {
      expiresIn: '1 minute ago',
    });
    await page.evaluate(`sessionStorage.setItem('cards-console.token', ${JSON.stringify(expired)})`);

    await page.getByRole('link', { name: 'Users' }).click();

    await heading(page, 'Sign in').waitFor();
    await page.getByRole('alert').getByText('This token is not valid or has expired.').waitFor();
    expect(await token(page)).toBeNull();
  });

  it('when a user requests a card through the API, then the table shows it PENDING, flags it stuck, turns it ACTIVE without a reload, and its timeline tells the saga', async () => {
    const user = await saga.createUser();
    const page = await newPage();
    await signIn(page, saga.api.url, saga.adminToken);
    await page.getByLabel('User id').fill(user.id);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No cards match these filters.').waitFor();
    await saga.setProviderFaults({ latencyMs: 6000 });

    const cardId = await requestCard(user.token, 'gold');

    const row = (status?: string) =>
      page.locator(`#cards-table tr[data-card-id="${cardId}"]${status ? `[data-status="${status}"]` : ''}`);
    await row('PENDING').waitFor();
    // Past ADMIN_STUCK_PENDING_SECONDS by the server's clock: the row says so in words, not only in colour.
    await row('PENDING').getByText('stuck', { exact: true }).waitFor();
    await row('ACTIVE').waitFor({ timeout: 20_000 });
    expect(await row().getByText('stuck', { exact: true }).count()).toBe(0);
    expect(await row().locator('td').nth(4).textContent()).toMatch(/^\d{4}$/);

    // A few more cards, one of them refused by the provider, for the counts and the sort order.
    await saga.setProviderFaults({ latencyMs: 0 });
    const silver = await requestCard(user.token, 'silver');
    await row('ACTIVE').waitFor();
    await page.locator(`#cards-table tr[data-card-id="${silver}"][data-status="ACTIVE"]`).waitFor();
    await saga.setProviderFaults({ rejectRate: 1 });
    const refused = await requestCard(user.token, 'pink');
    await page.locator(`#cards-table tr[data-card-id="${refused}"][data-status="FAILED"]`).waitFor();
    await saga.setProviderFaults({ rejectRate: 0 });
    const black = await requestCard(user.token, 'black');
    await page.locator(`#cards-table tr[data-card-id="${black}"][data-status="ACTIVE"]`).waitFor();

    const counts = page.locator('.counts');
    await counts.locator('.count-active dd').getByText('3', { exact: true }).waitFor();
    expect(await counts.locator('.count-failed dd').textContent()).toBe('1');
    expect(await counts.locator('.count-pending dd').textContent()).toBe('0');
    const ids = async () =>
      Promise.all(
        (await page.locator('#cards-table tbody tr').all()).map((row) => row.getAttribute('data-card-id')),
      );
    expect(await ids()).toEqual([black, refused, silver, cardId]);
    await screenshot(page, 'cards-table');

    await page.getByRole('button', { name: /^Created, sorted newest first/ }).click();
    await page.getByRole('button', { name: /^Created, sorted oldest first/ }).waitFor();
    await eventually(async () => {
      expect(await ids()).toEqual([cardId, silver, refused, black]);
    });

    await page.getByRole('link', { name: cardId }).click();
    await heading(page, `Card ${cardId}`).waitFor();
    expect(page.url()).toBe(`${saga.api.url}/admin/#/cards/${cardId}`);
    const field = (name: string) => page.locator(`.fields [data-field="${name}"] dd`);
    expect(await field('status').textContent()).toBe('ACTIVE');
    expect(await field('userId').textContent()).toBe(user.id);
    expect(await field('ownerExternalId').textContent()).toBe(user.externalId);
    const timeline = page.locator('#timeline-table tbody tr');
    expect(await timeline.count()).toBeGreaterThanOrEqual(2);
    // As the API orders it: the request first, then every step by time, ending with the activation.
    const kinds = await Promise.all((await timeline.all()).map((row) => row.getAttribute('data-kind')));
    expect(kinds[0]).toBe('requested');
    expect(kinds.at(-1)).toBe('activated');
    const times = await Promise.all(
      (await timeline.locator('time').all()).slice(1).map((cell) => cell.getAttribute('datetime')),
    );
    expect(times).toEqual([...times].sort());
    expect(await timeline.last().textContent()).toContain('ACTIVE');
    await screenshot(page, 'card-timeline');
  });

  it('when more cards match than a page holds, then Next page, Previous and First walk the pages, and the colour, status and creation-time filters narrow the list', async () => {
    const user = await saga.createUser();
    const colours = ['gold', 'silver', 'blue'] as const;
    const ids: string[] = [];
    for (let index = 0; index < 21; index += 1) {
      ids.push(await requestCard(user.token, colours[index % 3] ?? 'gold'));
    }
    const page = await newPage();
    await signIn(page, saga.api.url, saga.adminToken);
    const rows = page.locator('#cards-table tbody tr[data-card-id]');
    const rowCount = (expected: number) =>
      eventually(async () => {
        expect(await rows.count()).toBe(expected);
      });
    await page.getByLabel('User id').fill(user.id);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.locator('.counts .count', { hasText: 'Total' }).getByText('21', { exact: true }).waitFor();

    await rowCount(20);
    expect(await rows.first().getAttribute('data-card-id')).toBe(ids[20]);
    await page.getByRole('button', { name: 'Next page', exact: true }).click();
    await page.getByText('Cards, newest first, page 2').waitFor();
    await rowCount(1);
    expect(await rows.first().getAttribute('data-card-id')).toBe(ids[0]);
    expect(await page.getByRole('button', { name: 'Next page', exact: true }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Previous', exact: true }).click();
    await page.getByText('Cards, newest first, page 1').waitFor();
    await rowCount(20);
    await page.getByRole('button', { name: 'Next page', exact: true }).click();
    await page.getByText('Cards, newest first, page 2').waitFor();
    await page.getByRole('button', { name: 'First', exact: true }).click();
    await page.getByText('Cards, newest first, page 1').waitFor();
    await rowCount(20);

    await page.getByLabel('Colour').selectOption('silver');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await rowCount(7);
    const colourCells = await Promise.all(
      (await rows.all()).map((row) => row.locator('td').nth(2).textContent()),
    );
    expect(new Set(colourCells)).toEqual(new Set(['silver']));

    await page.getByLabel('Status', { exact: true }).selectOption('FAILED');
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No cards match these filters.').waitFor();

    await page.getByLabel('Status', { exact: true }).selectOption('');
    const anHourAgo = new Date(Date.now() - 3_600_000).toISOString().slice(0, 19);
    await page.getByLabel('Created to (UTC)').fill(anHourAgo);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await page.getByText('No cards match these filters.').waitFor();
    await page.getByLabel('Created to (UTC)').fill('');
    await page.getByLabel('Created from (UTC)').fill(anHourAgo);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    await rowCount(7);
  });

  it('when an operator creates a user, then it is listed; when the external id exists already, then the conflict is explained with its code', async () => {
    const page = await newPage();
    await signIn(page, saga.api.url, saga.adminToken, '#/users');
    await heading(page, 'Users').waitFor();
    const externalId = `console-${randomUUID()}`;

    await page.getByLabel('External id').fill(externalId);
    await page.getByLabel('Email').fill(`${externalId}@example.test`);
    await page.getByRole('button', { name: 'Create user' }).click();

    await page.getByText(`Created user ${externalId}`).waitFor();
    await page.locator('#users-table tbody tr').filter({ hasText: externalId }).waitFor();

    await page.getByLabel('External id').fill(externalId);
    await page.getByLabel('Email').fill(`${externalId}@example.test`);
    await page.getByRole('button', { name: 'Create user' }).click();

    const alert = page.getByRole('alert').filter({ hasText: 'USER_ALREADY_EXISTS' });
    await alert.waitFor();
    expect(await alert.textContent()).toContain('HTTP 409');
    expect(await alert.textContent()).toContain(externalId);
    await screenshot(page, 'users');
  });

  it('when a poison message was dead-lettered, then the pipeline screen lists it, replays it after confirmation, shows the result, and the audit log records it', async () => {
    const poison = { key: `poison-${randomUUID()}`, ceId: `poison-${randomUUID()}` };
    await producer.send({
      topic: resultsTopic,
      messages: [
        { key: poison.key, value: '{not json', headers: { ce_type: 'card.provisioned', ce_id: poison.ceId } },
      ],
    });
    const page = await newPage();
    await signIn(page, saga.api.url, saga.adminToken, '#/pipeline');
    await heading(page, 'Pipeline health').waitFor();
    expect(await page.locator('[data-field="kafka-available"] dd').textContent()).toBe('available');
    expect(await page.locator('[data-field="outbox-quarantined"] dd').textContent()).toBe('0');
    expect(await page.locator('#quarantine-table tbody').textContent()).toContain('No quarantined rows.');
    // The relay replica that holds the lease, and which consumer owns which partitions.
    expect(await page.locator('[data-field="relay-holder"] dd').textContent()).toMatch(
      /^outbox-relay \S+ pid \d+, since /,
    );
    expect(await page.locator('#lag-table [data-field="members"]').allTextContents()).toEqual([
      expect.stringMatching(/: [\d, ]+$/),
      expect.stringMatching(/: [\d, ]+$/),
    ]);

    // The consumer dead-letters it in its own time; the operator presses Refresh until it is counted.
    const show = page.getByRole('button', { name: `Show dead letters of ${resultsTopic}` });
    await eventually(
      async () => {
        await page.getByRole('button', { name: 'Refresh', exact: true }).click();
        await show.waitFor({ timeout: 1000 });
      },
      { timeoutMs: 30_000 },
    );
    await show.click();
    const letter = page.locator(`#dead-letter-table tr[data-ce-id="${poison.ceId}"]`);
    await letter.waitFor();
    expect(await letter.textContent()).toContain('invalid envelope');

    const replay = letter.getByRole('button', { name: /^Replay offset/ });
    await replay.click();
    const dialog = page.getByRole('dialog', { name: 'Replay this dead letter?' });
    await dialog.waitFor();
    expect(await dialog.textContent()).toContain(poison.ceId);
    // Focus moved into the modal dialog, onto the safe choice.
    expect(await page.evaluate('document.activeElement?.textContent')).toBe('Cancel');
    await screenshot(page, 'dead-letter-replay-dialog');
    await dialog.getByRole('button', { name: 'Replay', exact: true }).click();

    const result = page.locator('#replay-result');
    await result.waitFor();
    expect(await result.textContent()).toBe(`Replayed 1 message(s) onto ${resultsTopic}.`);
    expect(await page.locator('.replay-result li').textContent()).toContain(poison.ceId);
    await page.locator('#dead-letter-table').waitFor();
    await screenshot(page, 'pipeline-health');

    await page.getByRole('link', { name: 'Audit log' }).click();
    await heading(page, 'Audit log').waitFor();
    const entry = page
      .locator('#audit-table tbody tr')
      .filter({ hasText: /replay/i })
      .first();
    await entry.waitFor();
    expect(await entry.textContent()).toContain(saga.config.ADMIN_EXTERNAL_ID);
    expect(await entry.textContent()).toContain(resultsTopic);
    await screenshot(page, 'audit');
  });

  it('when an operator goes through every screen, then each has labelled controls, no positive tabindex, captioned tables, scoped headers, landmarks and text contrast of 4.5:1 or more', async () => {
    const user = await saga.createUser();
    const cardId = await requestCard(user.token, 'blue');
    const page = await newPage();
    const clean = {
      unlabelledControls: [],
      positiveTabindex: [],
      imagesWithoutAlt: [],
      unnamedButtons: [],
      tablesWithoutCaption: [],
      headerCellsWithoutScope: [],
      lowContrastText: [],
    };
    const reports: Record<string, unknown> = {};

    await page.goto(`${saga.api.url}/admin/`);
    await heading(page, 'Sign in').waitFor();
    reports['sign-in'] = await accessibilityReport(page);
    expect(await page.getByLabel('Access token').count()).toBe(1);

    await signIn(page, saga.api.url, saga.adminToken);
    await page.locator(`#cards-table tr[data-card-id="${cardId}"]`).waitFor();
    for (const label of ['Status', 'Colour', 'User id', 'Created from (UTC)', 'Created to (UTC)']) {
      expect({ label, count: await page.getByLabel(label, { exact: true }).count() }).toEqual({
        label,
        count: 1,
      });
    }
    expect(await page.getByLabel('Refresh every 2 seconds').isChecked()).toBe(true);
    reports['cards'] = await accessibilityReport(page);

    // Keyboard: the screen's heading has focus; Tab moves to the first filter with a visible outline, and a
    // navigation link opens its screen with Enter.
    await page.keyboard.press('Tab');
    const focused = await page.evaluate(
      `(() => { const e = document.activeElement; const s = getComputedStyle(e);
        return { name: e.getAttribute('name'), outline: s.outlineStyle, width: s.outlineWidth }; })()`,
    );
    expect(focused).toEqual({ name: 'status', outline: 'solid', width: '3px' });
    await page.getByRole('link', { name: 'Audit log' }).focus();
    await page.keyboard.press('Enter');
    await heading(page, 'Audit log').waitFor();

    await page.goto(`${saga.api.url}/admin/#/cards/${cardId}`);
    await page.locator('#timeline-table tbody tr').first().waitFor();
    reports['card'] = await accessibilityReport(page);

    for (const [screen, name] of [
      ['users', 'Users'],
      ['pipeline', 'Pipeline health'],
      ['audit', 'Audit log'],
    ] as const) {
      await page.getByRole('link', { name, exact: true }).click();
      await heading(page, name).waitFor();
      await page.locator('table tbody tr').first().waitFor();
      reports[screen] = await accessibilityReport(page);
    }

    for (const [screen, report] of Object.entries(reports)) {
      expect({ screen, report }).toEqual({
        screen,
        report: {
          ...clean,
          landmarks: {
            header: 1,
            nav: expect.any(Number) as number,
            main: 1,
            h1: 1,
            liveRegions: expect.any(Number) as number,
          },
        },
      });
      expect((report as { landmarks: { liveRegions: number } }).landmarks.liveRegions).toBeGreaterThanOrEqual(
        1,
      );
    }
  });
});
