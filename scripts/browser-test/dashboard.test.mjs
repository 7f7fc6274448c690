// Real-browser test of the dashboard at /_sim/ui.
//
// It starts no simulator: the URL of a running one comes from BAJIE_SIM_URL (see
// scripts/browser-test.sh, which builds and starts one with a frozen clock and no simulation).
// Chromium is Debian's (/usr/bin/chromium, or CHROMIUM_PATH), driven by playwright-core: no
// browser download. It starts one local HTTP receiver for the rent callback.
//
// Flow: the default world renders -> the page subscribes event pushes to the built-in receiver
// -> a rent through the platform API empties a slot and shows the order, its callback and its
// push in the page -> a click in the page takes BJD60151 offline, which the platform API then
// reports (2004) -> an envelope error is shown in the page -> screenshots.

import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const SIM = (process.env.BAJIE_SIM_URL || "").replace(/\/+$/, "");
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ARTIFACTS = process.env.ARTIFACTS_DIR || path.resolve(HERE, "../../ci-artifacts");
const DEMO_AUTH = "Basic " + Buffer.from("demo:demo").toString("base64");
const CAB = "BJD60151";
// Every wait in this file has this deadline; nothing sleeps a fixed time.
const DEADLINE_MS = 15_000;

let context, page, receiver, receiverUrl;
const received = [];
const pageErrors = [];
let userDataDir;

async function sim(method, p, { auth } = {}) {
  const res = await fetch(SIM + p, { method, headers: auth ? { Authorization: auth } : {} });
  const text = await res.text();
  try {
    return { status: res.status, body: JSON.parse(text) };
  } catch {
    throw new Error(`${method} ${p}: HTTP ${res.status}, not JSON: ${text.slice(0, 200)}`);
  }
}

async function waitFor(what, fn) {
  const end = Date.now() + DEADLINE_MS;
  let last;
  for (;;) {
    last = await fn();
    if (last) return last;
    if (Date.now() > end) throw new Error(`timed out after ${DEADLINE_MS} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

before(async () => {
  assert.ok(SIM, "BAJIE_SIM_URL must name a running simulator, e.g. http://127.0.0.1:8080");
  assert.ok(fs.existsSync(CHROMIUM), `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`);
  // A fresh world: the test may run against a simulator that was used before.
  const r = await sim("POST", "/_sim/reset");
  assert.equal(r.body.code, 0, JSON.stringify(r.body));

  receiver = http.createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      received.push({ url: req.url, body });
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end('{"code":0,"msg":"success"}');
    });
  });
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  receiverUrl = `http://127.0.0.1:${receiver.address().port}/callback`;

  userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "bajie-ui-chromium-"));
  context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1440, height: 1000 },
    args: [
      "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
    ],
  });
  page = context.pages()[0] || (await context.newPage());
  page.setDefaultTimeout(DEADLINE_MS);
  page.on("pageerror", (e) => pageErrors.push(String(e)));
});

after(async () => {
  if (context) await context.close().catch(() => {});
  if (receiver) await new Promise((r) => receiver.close(r));
  if (userDataDir) fs.rmSync(userDataDir, { recursive: true, force: true });
});

test("the dashboard renders the default world", async () => {
  await page.goto(SIM + "/_sim/ui?agent=demo");
  const cab = page.locator(`article[data-cabinet="${CAB}"]`);
  await cab.waitFor({ state: "visible" });
  assert.equal(await cab.getAttribute("data-online"), "true");
  assert.equal((await cab.locator(".state").textContent()).trim(), "online");
  // Batteries in slots 1, 3, 5 and 8 of the fixtures; the others are empty.
  for (const n of [1, 3, 5, 8]) {
    assert.notEqual(await cab.locator(`[data-slot="${n}"]`).getAttribute("data-battery"), "", `slot ${n} holds a battery`);
  }
  assert.equal(await cab.locator(`[data-slot="2"]`).getAttribute("data-battery"), "");
  // The virtual start pinned and frozen by the script (--start; the default world would start at
  // the real time).
  assert.equal(await page.locator("#clock-now").textContent(), "2026-03-02 09:00:00");
  assert.equal(await page.locator("#clock-state").textContent(), "frozen");
  // Both agents in the picker; shops drawn on the map.
  assert.deepEqual(await page.locator("#agent option").evaluateAll((os) => os.map((o) => o.value)), ["acme", "demo"]);
  assert.ok((await page.locator("#map [data-shop]").count()) >= 5, "shops on the map");
});

test("the page subscribes the agent's event pushes to the built-in receiver (seen through E2)", async () => {
  await page.locator('.tab[data-tab="pushes"]').click();
  await page.locator("#btn-subscribe").click();
  await page.locator("#toasts .toast:not(.err)", { hasText: "Push config set" }).waitFor({ state: "visible" });
  const e2 = await sim("GET", "/cdb-open-api/v1/cabinet/eventPush/config/get", { auth: DEMO_AUTH });
  assert.equal(e2.body.code, 0, JSON.stringify(e2.body));
  assert.equal(e2.body.data.pushUrl, SIM + "/_sim/ui/sink");
});

test("a rent through the platform API shows up in the page", async () => {
  const create = await sim(
    "POST",
    `/cdb-open-api/v1/rent/order/create?deviceId=${CAB}&callbackURL=${encodeURIComponent(receiverUrl)}`,
    { auth: DEMO_AUTH },
  );
  assert.equal(create.body.code, 0, JSON.stringify(create.body));
  const tradeNo = create.body.data.tradeNo;
  assert.match(tradeNo, /^\d{20}$/);
  // The cabinet ejects one virtual second after the order.
  const adv = await sim("POST", "/_sim/clock?advance=2");
  assert.equal(adv.body.code, 0, JSON.stringify(adv.body));

  const row = page.locator(`#orders tr[data-order="${tradeNo}"][data-status="inLease"]`);
  await row.waitFor({ state: "visible" });
  assert.match(await row.textContent(), /In lease/);
  const slot = await row.getAttribute("data-slot");
  assert.ok(Number(slot) >= 1, `order has a slot: ${slot}`);
  const cell = page.locator(`[data-cabinet="${CAB}"] [data-slot="${slot}"]`);
  await page.waitForFunction(
    ([c, s]) => document.querySelector(`[data-cabinet="${c}"] [data-slot="${s}"]`)?.classList.contains("empty"),
    [CAB, slot],
  );
  assert.equal(await cell.getAttribute("data-battery"), "");

  // The status=1 callback reached the receiver and the journal in the page says so.
  await waitFor("the status=1 callback", () => received.find((r) => new URLSearchParams(r.body).get("status") === "1"));
  await page.locator(`#journal details[data-event="RENT_CALLBACK_1"][data-status="delivered"]`).waitFor({ state: "visible" });
  // And the event push, delivered to the simulator's own receiver.
  await page.locator(`#journal details[data-event="BATTERY_BORROW_OUT"][data-status="delivered"]`).waitFor({ state: "visible" });
});

test("Rent a battery in the page is a real O2 with the toolbar's credentials, called back to the built-in sink", async () => {
  const before = await sim("GET", "/_sim/ui/world?agent=demo");
  const known = new Set(before.body.data.world.orders.map((o) => o.tradeNo));
  await page.locator(`[data-cabinet="${CAB}"] [data-act="rent"]`).click();
  // A platform order of demo's (the toolbar's account), so O5 with demo's credentials finds it.
  const tradeNo = await waitFor("the order the button created", async () => {
    const w = await sim("GET", "/_sim/ui/world?agent=demo");
    return w.body.data.world.orders.map((o) => o.tradeNo).find((t) => !known.has(t));
  });
  const detail = await sim("GET", `/cdb-open-api/v1/rent/order/detail?tradeNo=${tradeNo}`, { auth: DEMO_AUTH });
  assert.equal(detail.body.code, 0, JSON.stringify(detail.body));
  assert.equal(detail.body.data.cabinetId, CAB, JSON.stringify(detail.body));
  const adv = await sim("POST", "/_sim/clock?advance=2");
  assert.equal(adv.body.code, 0, JSON.stringify(adv.body));
  // Its status=1 callback went to the simulator's own receiver and was delivered.
  const cb = await waitFor("the status=1 callback", async () => {
    const j = await sim("GET", `/_sim/pushes?order=${tradeNo}&event=RENT_CALLBACK_1&status=delivered`);
    return j.body.data.records[0];
  });
  assert.equal(new URL(cb.url).pathname, "/_sim/ui/sink", JSON.stringify(cb));
});

test("a click in the page takes the cabinet offline for the platform API", async () => {
  await page.locator(`[data-cabinet="${CAB}"] [data-act="offline"]`).click();
  await page.locator(`[data-cabinet="${CAB}"][data-online="false"]`).waitFor({ state: "visible" });
  const o1 = await sim("GET", `/cdb-open-api/v1/rent/cabinet/query?deviceId=${CAB}`, { auth: DEMO_AUTH });
  assert.equal(o1.status, 200);
  assert.deepEqual(o1.body, { code: 2004, msg: "Device not online." });
});

test("an envelope error is shown in the page", async () => {
  // Returning the rented battery into the offline cabinet is refused with 2004.
  await page.locator('.tab[data-tab="return"]').click();
  await page.locator("#ret-cabinet").selectOption(CAB);
  await page.locator("#btn-return").click();
  const toast = page.locator("#toasts .toast.err").first();
  await toast.waitFor({ state: "visible" });
  assert.match(await toast.textContent(), /Device not online\. \(code 2004\)/);
});

test("fault controls in the page reach the simulator", async () => {
  // A fault-injection rule from the preset list, shown in the list, then removed.
  await page.locator('.tab[data-tab="rules"]').click();
  await page.locator("#btn-rule").click();
  await page.locator("#rules li", { hasText: "ejectFailure" }).waitFor({ state: "visible" });
  const rules = await sim("GET", "/_sim/faults");
  assert.equal(rules.body.data.total, 1, JSON.stringify(rules.body));
  // The rule shows on the cabinet it targets, and on no other.
  const ruleId = rules.body.data.records ? rules.body.data.records[0].id : rules.body.data.rules[0].id;
  await page.locator(`article[data-cabinet="BJD60151"] [data-rule-badge="${ruleId}"]`).waitFor({ state: "visible" });
  assert.match(await page.locator(`article[data-cabinet="BJD60151"] [data-rule-badge="${ruleId}"]`).textContent(), /ejectFailure 3/);
  assert.equal(await page.locator(`article[data-cabinet="BJD60152"] [data-rule-badge]`).count(), 0);
  await page.locator("#rules [data-rule]").click();
  await page.locator("#rules li", { hasText: "No active rule" }).waitFor({ state: "visible" });

  // A battery fault on the battery in BJD60152 slot 1 shows on its slot.
  const cell = page.locator('article[data-cabinet="BJD60152"] [data-slot="1"]');
  const battery = await cell.getAttribute("data-battery");
  assert.ok(battery, "BJD60152 slot 1 holds a battery");
  await page.locator('.tab[data-tab="bfault"]').click();
  await page.locator("#bf-battery").selectOption(battery);
  await page.locator("#bf-type").selectOption("5");
  await page.locator("#btn-bfault").click();
  await page.waitForFunction(
    () => document.querySelector('article[data-cabinet="BJD60152"] [data-slot="1"]')?.classList.contains("fault"),
  );
  assert.equal((await cell.locator(".flag").textContent()).trim(), "B5");
});

test("the Requests card shows the client's requests and the integration report", async () => {
  // The O1 answered 2004 above is journaled; the card polls every 2 s.
  const row = page.locator("#requests details", { hasText: "/rent/cabinet/query" }).first();
  await row.waitFor({ state: "visible" });
  assert.match(await row.textContent(), /2004/);
  await page.locator('.rq-tab[data-rq="report"]').click();
  await page.locator("#requests-report", { hasText: "Production behaviours met by the client" }).waitFor({ state: "visible" });
  assert.match(await page.locator("#requests-report").textContent(), /2004×/);
  await page.locator('.rq-tab[data-rq="list"]').click();
});

test("the journal filters by order and by cabinet and hides CABINET_STATUS", async () => {
  // A heartbeat: pushed (the agent subscribes every event) but hidden by default.
  const report = await sim("POST", "/_sim/cabinets/BJD60152/report");
  assert.equal(report.body.code, 0, JSON.stringify(report.body));
  const wait = await sim("GET", "/_sim/pushes/wait?event=CABINET_STATUS&count=1&timeoutMs=10000");
  assert.equal(wait.body.code, 0, JSON.stringify(wait.body));
  const status = page.locator(`#journal details[data-event="CABINET_STATUS"]`);
  assert.equal(await page.locator("#jf-hide-status").isChecked(), true);
  await page.locator(`#journal details[data-event="BATTERY_BORROW_OUT"]`).first().waitFor({ state: "visible" });
  assert.equal(await status.count(), 0, "CABINET_STATUS hidden");
  await page.locator("#jf-hide-status").uncheck();
  await status.first().waitFor({ state: "visible" });
  await page.locator("#jf-hide-status").check();
  await page.waitForFunction(() => !document.querySelector('#journal details[data-event="CABINET_STATUS"]'));

  // Click an order: only its entries (the callback and the event push of the rent above).
  const link = page.locator("#orders [data-journal-order]").first();
  const order = await link.getAttribute("data-journal-order");
  await link.click();
  await page.waitForFunction((o) => {
    const rows = [...document.querySelectorAll("#journal details")];
    return rows.length > 0 && rows.every((r) => r.dataset.order === o);
  }, order);
  assert.equal(await page.locator("#jf-order").inputValue(), order);

  // A cabinet's Journal button: only that cabinet's entries.
  await page.locator('article[data-cabinet="BJD60152"] [data-act="journal"]').click();
  await page.locator("#jf-hide-status").uncheck();
  await page.waitForFunction(() => {
    const rows = [...document.querySelectorAll("#journal details")];
    return rows.length > 0 && rows.every((r) => r.dataset.cabinet === "BJD60152");
  });
  await page.locator("#jf-hide-status").check();
  await page.locator("#jf-clear").click();
  await page.waitForFunction(() => document.querySelectorAll("#journal details").length >= 2);

  // An entry opens to its attempts: the time never wraps and the answer has room.
  const entry = page.locator('#journal details[data-event="RENT_CALLBACK_1"]').first();
  await entry.locator("summary").click();
  const table = entry.locator("table.attempts");
  await table.waitFor({ state: "visible" });
  // Measured inside the page, and waited for with a deadline: the journal is redrawn as its
  // deliveries settle, and a row caught in the middle of a redraw says nothing about layout.
  const oneLine = await page
    .waitForFunction(
      () => {
        const td = document.querySelector('#journal details[data-event="RENT_CALLBACK_1"][open] table.attempts tbody td.nw.mono');
        if (!td) return false;
        const lineHeight = parseFloat(getComputedStyle(td).lineHeight) || 16;
        const h = td.getBoundingClientRect().height;
        return h > 0 && h < lineHeight * 2 + 10;
      },
      null,
      { timeout: 5000 },
    )
    .then(() => true, () => false);
  assert.ok(oneLine, "the time of an attempt stays on one line");
  // The answer column and the table's width likewise: a redraw between two of Playwright's
  // look-ups left `boundingBox()` null (the entry first found had been replaced) in one run.
  const fits = (what) =>
    page
      .waitForFunction(
        (what) => {
          const t = document.querySelector('#journal details[data-event="RENT_CALLBACK_1"][open] table.attempts');
          const ans = t && t.querySelector("tbody td.ans");
          const card = document.querySelector("#journal-card");
          if (!ans || !card) return false;
          if (what === "answer") return ans.getBoundingClientRect().width > 120;
          return t.getBoundingClientRect().right <= card.getBoundingClientRect().right + 1;
        },
        what,
        { timeout: 5000 },
      )
      .then(() => true, () => false);
  assert.ok(await fits("answer"), "the answer column has room");
  assert.ok(await fits("table"), "the attempts table fits its card");
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.locator("#journal-card").screenshot({ path: path.join(ARTIFACTS, "dashboard-journal.png") });
});

test("the plots follow virtual time from samples the simulator keeps", async () => {
  // One sample per five virtual minutes, taken when the page polls: move the clock twice.
  for (let i = 0; i < 2; i++) {
    const before = Number(await page.locator('#plots [data-plot="open"]').getAttribute("data-points"));
    const adv = await sim("POST", "/_sim/clock?advance=600");
    assert.equal(adv.body.code, 0, JSON.stringify(adv.body));
    await page.waitForFunction((n) => Number(document.querySelector('#plots [data-plot="open"]')?.dataset.points) > n, before);
  }
  for (const id of ["rentals", "open", "charge", "pushes"]) {
    const plot = page.locator(`#plots [data-plot="${id}"]`);
    assert.ok(Number(await plot.getAttribute("data-points")) >= 3, `${id} has points`);
    assert.ok((await plot.locator("svg path").count()) >= 1, `${id} draws a line`);
  }
  const v = await sim("GET", "/_sim/ui/world?agent=demo");
  assert.ok(v.body.data.samples.length >= 3, JSON.stringify(v.body.data.samples));
  assert.ok(v.body.data.samples.every((s) => s.fleetCharge > 0 && s.fleetCharge <= 100), "fleet charge in percent");
});

test("the page raised no script error; screenshots saved", async () => {
  fs.mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, "dashboard.png") });
  await page.screenshot({ path: path.join(ARTIFACTS, "dashboard-full.png"), fullPage: true });
  assert.deepEqual(pageErrors, []);
});

test("the page fits a phone-sized screen", async () => {
  await page.setViewportSize({ width: 390, height: 844 });
  await page.locator(`article[data-cabinet="${CAB}"]`).waitFor({ state: "visible" });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.screenshot({ path: path.join(ARTIFACTS, "dashboard-phone.png"), fullPage: false });
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow}px`);
  assert.deepEqual(pageErrors, []);
});
