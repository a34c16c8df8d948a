// End-to-end test of the dashboard: the real studio (`studio up`, embedded mode, a real worker),
// the production build in frontend/dist, and Debian's Chromium driven by playwright-core.
// Run with `npm run e2e` after `npm run build`. Screenshots of every screen go to
// frontend/test-results/screenshots/.
import assert from "node:assert/strict";
import { execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";

import { chromium } from "playwright-core";

const FRONTEND = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const REPO = resolve(FRONTEND, "..");
const SHOTS = join(FRONTEND, "test-results", "screenshots");
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const JOB_TIMEOUT = 480_000; // a job may wait behind the cancelled demo's first evaluation

let studio; // the `studio up` child process
let studioLog = "";
let baseUrl;
let apiToken;
let password;
let context;
let page;
const scratch = mkdtempSync(join(tmpdir(), "studio-e2e-"));

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.unref();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function api(path, init = {}) {
  const res = await fetch(`${baseUrl}/api/v1${path}`, {
    ...init,
    headers: { Authorization: `Bearer ${apiToken}`, "Content-Type": "application/json", ...init.headers },
  });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${res.status} ${JSON.stringify(body)}`);
  return body;
}

async function startStudio() {
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const env = {
    ...process.env,
    STUDIO_STATS_TOKENIZER: "bytes",
    STUDIO_BENCHMARK_DIR: resolve(REPO, "..", "shared", "datasets", "llm-adapters"),
    PYTHONUNBUFFERED: "1",
  };
  delete env.STUDIO_FRONTEND_DIST; // serve this checkout's build
  studio = spawn(join(REPO, ".venv", "bin", "studio"), ["up", "--port", String(port), "--data-dir", join(scratch, "data")], {
    cwd: REPO,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  studio.stdout.on("data", (d) => (studioLog += d));
  studio.stderr.on("data", (d) => (studioLog += d));
  const deadline = Date.now() + 120_000;
  while (Date.now() < deadline) {
    if (studio.exitCode !== null) throw new Error(`studio up exited early:\n${studioLog}`);
    apiToken ??= studioLog.match(/API token:\s*(sst_\S+)/)?.[1];
    password ??= studioLog.match(/sign in:\s*\S+\s*\/\s*(\S+)\s+\(shown once\)/)?.[1];
    if (apiToken && password) {
      try {
        const res = await fetch(`${baseUrl}/api/v1/health`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
    }
    await sleep(500);
  }
  throw new Error(`studio up did not come up within 120 s:\n${studioLog}`);
}

async function stopStudio() {
  if (!studio || studio.exitCode !== null) return;
  const exited = new Promise((r) => studio.once("exit", r));
  studio.kill("SIGINT");
  const timer = setTimeout(() => studio.kill("SIGKILL"), 30_000);
  await exited;
  clearTimeout(timer);
}

async function shot(name) {
  await page.waitForTimeout(300); // let charts finish laying out
  await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
}

function arithmeticDataset() {
  const lines = [];
  for (let i = 0; i < 32; i++) {
    const a = (i * 7) % 23;
    const b = (i * 5) % 17;
    lines.push(
      JSON.stringify({ instruction: `What is ${a} + ${b}?`, output: `${a} + ${b} = ${a + b}. The answer is ${a + b}.`, answer: String(a + b) }),
    );
  }
  const path = join(scratch, "tiny-arithmetic.jsonl");
  writeFileSync(path, `${lines.join("\n")}\n`);
  return path;
}

async function fill(name, value) {
  await page.fill(`[name="${name}"]`, String(value));
}

async function waitForJobToFinish(expectedStatus = "succeeded") {
  await page.waitForSelector('[data-testid^="job-progress-"] [role="progressbar"][aria-valuenow="100"]', { timeout: JOB_TIMEOUT });
  await page.waitForSelector(`.page-head .badge[data-status="${expectedStatus}"]`, { timeout: JOB_TIMEOUT });
}

/** A drawn line: an svg path with data (a flat line at 0 % has no height, so "attached"). */
async function waitForCurve(container) {
  const path = page.locator(`${container} path.recharts-curve`).first();
  await path.waitFor({ state: "attached", timeout: JOB_TIMEOUT });
  assert.match((await path.getAttribute("d")) ?? "", /^M[\d.]+,[\d.]+/);
}

/** Records the paths the browser requests, to count one job's reads and event streams. */
function watchRequests() {
  const paths = [];
  const onRequest = (request) => paths.push(new URL(request.url()).pathname);
  page.on("request", onRequest);
  return {
    stop: () => page.off("request", onRequest),
    count: (path) => paths.filter((p) => p === path).length,
  };
}

/** The fresh screen at a desktop and a phone width, then back to the test's size. */
async function shotBothWidths(name) {
  for (const width of [1440, 390]) {
    await page.setViewportSize({ width, height: 900 });
    await shot(`${name}-${width}px`);
  }
  await page.setViewportSize({ width: 1400, height: 1000 });
}

/** adapter_config.json's base model and the README of a downloaded adapter zip (read with Python's zipfile). */
function readAdapterZip(bytes) {
  const path = join(scratch, `adapter-${Date.now()}.zip`);
  writeFileSync(path, bytes);
  const script =
    "import json, sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\n" +
    "print(json.dumps({'base': json.loads(z.read('adapter_config.json'))['base_model_name_or_path'], 'readme': z.read('README.md').decode()}))";
  return JSON.parse(execFileSync(join(REPO, ".venv", "bin", "python"), ["-c", script, path]).toString());
}

function jobIdFromUrl() {
  const id = Number(new URL(page.url()).pathname.match(/^\/jobs\/(\d+)$/)?.[1]);
  assert.ok(id > 0, `not on a job page: ${page.url()}`);
  return id;
}

before(async () => {
  assert.ok(existsSync(join(FRONTEND, "dist", "index.html")), "frontend/dist is missing: run `npm run build` first");
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: apt-get install -y chromium`);
  rmSync(SHOTS, { recursive: true, force: true });
  mkdirSync(SHOTS, { recursive: true });
  await startStudio();
  await api("/models", { method: "POST", body: JSON.stringify({ reference: "tiny:llama" }) });
  context = await chromium.launchPersistentContext(join(scratch, "chromium"), {
    executablePath: CHROMIUM,
    headless: true,
    viewport: { width: 1400, height: 1000 },
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  page = context.pages()[0] ?? (await context.newPage());
  page.setDefaultTimeout(30_000);
  page.on("pageerror", (e) => console.error("page error:", e.message));
});

after(async () => {
  await context?.close().catch(() => {});
  await stopStudio();
  if (process.env.KEEP_E2E_DATA) console.log(`kept ${scratch}`);
  else rmSync(scratch, { recursive: true, force: true });
});

test("a user signs in, uploads data, trains two adapters, compares them and reads the leaderboard", { timeout: 900_000 }, async () => {
  // --- sign in -------------------------------------------------------------------------------
  await page.goto(`${baseUrl}/`);
  await page.waitForSelector('input[name="email"]');
  await shot("01-sign-in");
  await fill("email", "admin@studio.local");
  await fill("password", "wrong password");
  await page.click('button[type="submit"]');
  await page.waitForSelector('text="wrong email or password"');
  await fill("password", password);
  await page.click('button[type="submit"]');
  await page.waitForSelector('nav[aria-label="Screens"]');

  // --- a fresh studio offers the demo as one click --------------------------------------------
  await page.click('nav >> text="Jobs"');
  await page.waitForSelector('[data-testid="demo-card"]');
  await shotBothWidths("00-starter");
  await page.click('[data-testid="demo-card"] button:has-text("Run the demo")');
  await page.waitForURL(/\/jobs\/\d+$/);
  const demoJob = jobIdFromUrl();
  const demo = await api(`/jobs/${demoJob}`);
  assert.equal(demo.config.base_model, "demo:smollm2-135m");
  assert.deepEqual(demo.config.evaluation.benchmarks, ["demo-arithmetic"]);
  // its phase, with its own progress: queued (with its place), loading, or evaluating before training
  await page.waitForSelector(`[data-testid="job-progress-${demoJob}"] .progress-text`);
  assert.match(await page.locator(`[data-testid="job-progress-${demoJob}"] .progress-text`).innerText(), /queued|starting|loading the model|evaluating before training|preparing the data|training/);
  await shotBothWidths("00b-demo-job");
  // Cancel asks first (the demo is a ten-minute run: this test only checks it starts)
  await page.click('.page-head button:has-text("Cancel")');
  await page.waitForSelector('[role="group"][aria-label*="?"]');
  assert.equal((await api(`/jobs/${demoJob}`)).cancel_requested, false, "Cancel acted before it was confirmed");
  await page.click('.page-head button:has-text("Yes")');
  // queued: cancelled at once; running: "Cancelling…" until it stops at its next step (after
  // the evaluation before training, a minute or more on two busy cores)
  await page.waitForSelector('.page-head .badge[data-status="cancelled"], .page-head button:has-text("Cancelling")');
  await page.waitForSelector('.page-head .badge[data-status="cancelled"]', { timeout: JOB_TIMEOUT });

  // --- datasets: upload through the drop zone's file input ------------------------------------
  await page.click('nav >> text="Datasets"');
  await page.waitForSelector('[data-testid="dropzone"]');
  await page.setInputFiles('input[type="file"]', arithmeticDataset());
  await page.waitForSelector('[role="status"]:has-text("32 rows")');
  const uploadBar = page.locator('[role="progressbar"][aria-label="upload progress"]');
  assert.equal(await uploadBar.getAttribute("aria-valuenow"), "100");
  await page.waitForSelector('table[aria-label="Datasets"] >> text="tiny-arithmetic.jsonl"');
  await shot("02-datasets");

  // a refused upload shows its problems by row and field
  const bad = join(scratch, "broken.jsonl");
  writeFileSync(bad, `${JSON.stringify({ instruction: "", output: "x" })}\n${JSON.stringify({ instruction: "q" })}\n`);
  await page.setInputFiles('input[type="file"]', bad);
  await page.waitForSelector('table[aria-label="Upload problems"] tbody tr');
  await shot("02b-upload-refused");

  await page.click('table[aria-label="Datasets"] >> text="tiny-arithmetic.jsonl"');
  await page.waitForSelector('table[aria-label="Dataset preview"] tbody tr');
  await page.waitForSelector(".recharts-bar-rectangle");
  assert.equal(await page.locator('table[aria-label="Dataset preview"] tbody tr').count(), 20);
  await shot("03-dataset-page");

  // --- new job: series adapter after the MLP ------------------------------------------------
  await page.click('nav >> text="New job"');
  await page.waitForSelector('form[aria-label="New job"]');
  await page.selectOption('select[name="base_model"]', "tiny:llama");
  await page.selectOption('select[name="dataset_id"]', { label: "tiny-arithmetic.jsonl (32 rows)" });
  await page.click('[data-method="series"]');
  const afterMlp = page.locator('[data-spot="after MLP"]');
  // series allows after/before, not beside; and no q/k/v
  assert.equal(await page.locator('[data-spot="beside MLP"]').getAttribute("aria-disabled"), "true");
  assert.equal(await page.locator('[data-spot="q"]').getAttribute("aria-disabled"), "true");
  assert.equal(await page.locator('[data-spot="after attention"]').getAttribute("aria-disabled"), "false");
  if ((await afterMlp.getAttribute("aria-pressed")) === "true") await afterMlp.click(); // start from nothing
  assert.equal(await afterMlp.getAttribute("aria-pressed"), "false");
  await afterMlp.click();
  assert.equal(await afterMlp.getAttribute("aria-pressed"), "true");
  await page.waitForSelector('[data-testid="estimate-series"]:has-text("trainable")');
  // the paper's series preset: it fills placement, params, template, decoding and scoring, and
  // says so; the fields stay editable (sized down below to run in seconds)
  await page.selectOption('select[name="preset"]', "paper-series");
  const presetSummary = await page.locator('[data-testid="preset-summary"]').innerText();
  assert.match(presetSummary, /Series adapter, as in the paper/);
  assert.match(presetSummary, /prompt_template llm-adapters/);
  assert.match(presetSummary, /scoring paper/);
  assert.equal(await page.inputValue('[name="training.prompt_template"]'), JSON.stringify("llm-adapters"));
  assert.equal(await page.inputValue('[name="params.bottleneck_size"]'), "256");
  await page.selectOption('[name="evaluation.preset"]', JSON.stringify("custom")); // greedy, not 4 beams
  await fill("name", "tiny-series-after-mlp");
  await fill("params.bottleneck_size", 8);
  await fill("training.max_steps", 6);
  await fill("training.batch_size", 4);
  await fill("training.micro_batch_size", 2);
  await fill("training.cutoff_len", 64);
  await page.check('[name="benchmark.svamp"]');
  await fill("evaluation.every_n_steps", 2);
  await fill("evaluation.max_examples", 4);
  // the preset opened the advanced part (it sets fields there)
  assert.equal(await page.locator("details.advanced").getAttribute("open"), "");
  await fill("training.warmup_steps", 0);
  await fill("training.val_set_size", 4);
  // the plan of these settings on the 32 rows, and a warning when warm-up outlasts training
  await page.waitForSelector('[data-testid="plan-training-rows"]:has-text("28 trained on")');
  await page.waitForSelector('[data-testid="plan-total-steps"]:has-text("6 steps in all")');
  await fill("training.warmup_steps", 10);
  await page.waitForSelector('[data-testid="plan-warnings"]:has-text("never reaches its peak")');
  await shot("04a-new-job-plan-warning");
  await fill("training.warmup_steps", 0);
  await page.waitForSelector('[data-testid="plan-warnings"]:has-text("never reaches")', { state: "detached" });
  // what stays: six steps are too few to learn much (this test's job is tiny on purpose)
  await page.waitForSelector('[data-testid="plan-warnings"]:has-text("only 6 optimiser steps")');
  // an invalid value is flagged beside its field as it is typed, and holds the submit
  await fill("training.learning_rate", -1);
  const lrBox = page.locator('label:has([name="training.learning_rate"])');
  await lrBox.locator('.field-error:has-text("must be greater than 0")').waitFor();
  assert.ok(await page.locator('button[type="submit"]:has-text("Start training")').isDisabled());
  await fill("training.learning_rate", 0.0003);
  await lrBox.locator(".field-error").waitFor({ state: "detached" });
  await fill("evaluation.max_new_tokens", 4);
  // the whole job's estimate for these settings: memory with its parts, time for its 6 steps
  await page.waitForSelector('[data-testid="estimate-total"]:has-text("(6 steps)")');
  assert.match(await page.locator('[data-testid="estimate-parts"]').innerText(), /frozen weights [\d.]+ [KM]iB · adapter/);
  await shot("04-new-job");
  // the same form at a desktop and a phone width (the method params of series, the advanced part open)
  for (const [width, name] of [[1440, "04b-new-job-1440px"], [390, "04c-new-job-390px"]]) {
    await page.setViewportSize({ width, height: 900 });
    await shot(name);
  }
  await page.setViewportSize({ width: 1400, height: 1000 });
  const requests = watchRequests();
  await page.click('button[type="submit"]:has-text("Start training")');
  await page.waitForURL(/\/jobs\/\d+$/);
  const seriesJob = jobIdFromUrl();
  await page.waitForSelector(".page-head h1");
  assert.equal(await page.evaluate(() => window.scrollY), 0, "the job page did not open at its top");
  if ((await api(`/jobs/${seriesJob}`)).status === "queued") {
    await page.waitForSelector(`[data-testid="job-progress-${seriesJob}"] .progress-text:has-text("queued")`);
    await shotBothWidths("04d-job-queued");
  }

  // --- job page: live progress through SSE, then the accuracy curve ---------------------------
  await waitForJobToFinish();
  requests.stop();
  assert.ok(requests.count(`/api/v1/jobs/${seriesJob}/events`) >= 1, "the job page did not open the job's event stream");
  // no polling loop while it ran: the job is read again only once its stream has ended
  const reads = requests.count(`/api/v1/jobs/${seriesJob}`);
  assert.ok(reads <= 3, `the job page read GET /jobs/${seriesJob} ${reads} times while it ran`);
  await waitForCurve('[data-testid="accuracy-chart"]');
  await waitForCurve('[data-testid="loss-chart"]');
  // the estimate made at creation beside what the run measured
  const estimateRows = page.locator('table[aria-label="Estimate vs measured"] tbody tr');
  assert.match(await estimateRows.nth(0).innerText(), /Trainable parameters\s+\S+\s+\S+\s+\+0\.0 %/);
  assert.match(await estimateRows.nth(1).innerText(), /Peak memory\s+[\d.]+ [MG]iB\s+[\d.]+ [MG]iB\s+[+-][\d.]+ %/);
  await page.click('[role="tab"]:has-text("Predictions")');
  await page.waitForSelector('table[aria-label="Predictions"] tbody tr');
  const firstRow = page.locator('table[aria-label="Predictions"] tbody tr').first();
  const question = await firstRow.locator(".question").innerText();
  assert.ok(question.length > 0 && !question.includes("### Instruction") && !question.includes("Below is an instruction"), question);
  await firstRow.locator('summary:has-text("full prompt")').click();
  assert.match(await firstRow.locator(".full-prompt pre").innerText(), /### Instruction/);
  // every score says its rule; the results download carries it
  const resultsCard = page.locator(".card", { has: page.locator('table[aria-label="Results"]') });
  assert.equal(await resultsCard.locator('[data-testid="scoring-rule"]').innerText(), "paper rule");
  assert.equal(await page.locator('[data-testid="accuracy-chart"] [data-testid="scoring-rule"]').innerText(), "paper rule");
  const csv = await page.request.get(baseUrl + (await resultsCard.locator('a:has-text("CSV")').getAttribute("href")));
  assert.equal(csv.status(), 200);
  assert.match(await csv.text(), /^benchmark,suite,accuracy,correct,total,scoring\nsvamp,arithmetic,[\d.]+,\d+,4,paper\n$/);
  // the rendered prompts: the paper's template, trailing spaces kept and marked
  const evaluationPrompt = page.locator('pre[aria-label="Evaluation prompt"]');
  await evaluationPrompt.waitFor();
  assert.match(await evaluationPrompt.innerText(), /### Instruction:/);
  assert.ok((await evaluationPrompt.locator(".trailing-space").count()) > 0, "no trailing space marked in the paper's prompt");
  assert.match(await page.locator('pre[aria-label="Training prompt"]').innerText(), /The answer is \d+\./);
  await shot("05-job-page");
  for (const [width, name] of [[1440, "05b-job-page-1440px"], [390, "05c-job-page-390px"]]) {
    await page.setViewportSize({ width, height: 900 });
    await shot(name);
  }
  await page.setViewportSize({ width: 1400, height: 1000 });
  const artifact = await page.request.get(baseUrl + (await page.getAttribute('a:has-text("Download adapter")', "href")));
  assert.equal(artifact.status(), 200);
  assert.equal(artifact.headers()["content-type"], "application/zip");
  assert.equal((await artifact.body()).subarray(0, 2).toString(), "PK");
  // the series adapter names its base as the user knows it and says to load it with the studio
  const seriesZip = readAdapterZip(await artifact.body());
  assert.equal(seriesZip.base, "tiny:llama");
  assert.match(seriesZip.readme, /peft does not have/);
  await page.click('[role="tab"]:has-text("Logs")');
  await page.waitForSelector('[data-testid="job-logs"]');
  const config = await (async () => {
    await page.click('[role="tab"]:has-text("Config")');
    return JSON.parse(await page.locator('[data-testid="job-config"]').innerText());
  })();
  assert.equal(config.adapter.method, "series");
  // the preset's placement (after the MLP's down projection) and internals, with the edits
  assert.deepEqual(config.adapter.placement.modules, ["down"]);
  assert.equal(config.adapter.placement.position, "after");
  assert.equal(config.adapter.params.bottleneck_size, 8);
  assert.equal(config.adapter.params.init, "bert");
  assert.equal(config.adapter.params.bias, false);
  assert.equal(config.training.prompt_template, "llm-adapters");
  assert.equal(config.evaluation.scoring, "paper");

  // --- clone and edit into a LoRA job ---------------------------------------------------------
  await page.click('button:has-text("Clone and edit")');
  await page.waitForURL(/\/jobs\/new\?clone=\d+/);
  await page.waitForSelector('form[aria-label="New job"]');
  assert.equal(await page.inputValue('[name="training.max_steps"]'), "6");
  await page.click('[data-method="lora"]');
  assert.equal(await page.locator('[data-spot="q"]').getAttribute("aria-pressed"), "true");
  assert.equal(await page.locator('[data-spot="after MLP"]').getAttribute("aria-disabled"), "true");
  await fill("name", "tiny-lora");
  await fill("params.r", 4);
  await fill("params.alpha", 8);
  await page.click('button[type="submit"]:has-text("Start training")');
  await page.waitForURL(/\/jobs\/\d+$/);
  const loraJob = jobIdFromUrl();
  assert.notEqual(loraJob, seriesJob);
  await waitForJobToFinish();
  await waitForCurve('[data-testid="accuracy-chart"]');
  const loraZip = readAdapterZip(await (await page.request.get(`${baseUrl}/api/v1/jobs/${loraJob}/artifact`)).body());
  assert.equal(loraZip.base, "tiny:llama");
  assert.match(loraZip.readme, /PeftModel\.from_pretrained/);

  // --- jobs list -------------------------------------------------------------------------------
  await page.click('nav >> text="Jobs"');
  await page.waitForSelector(`tr[data-job-id="${loraJob}"]`);
  assert.match(await page.locator(`[data-testid="job-progress-${demoJob}"]`).innerText(), /cancelled/);
  await shot("06-jobs-list");
  await shotBothWidths("06b-jobs-list");

  // --- compare ---------------------------------------------------------------------------------
  await page.check(`[aria-label="compare job ${seriesJob}"]`);
  await page.check(`[aria-label="compare job ${loraJob}"]`);
  await page.click('button:has-text("Compare")');
  await page.waitForURL(/\/compare\?jobs=/);
  await waitForCurve('[data-testid="compare-accuracy-svamp"]');
  assert.equal(await page.locator('[data-testid="compare-accuracy-svamp"] .recharts-line').count(), 2);
  assert.equal(await page.locator('[data-testid="compare-loss"] .recharts-line').count(), 2);
  const methodRow = page.locator('table[aria-label="Config differences"] tr', { hasText: "adapter.method" });
  assert.equal(await methodRow.getAttribute("data-differs"), "true");
  assert.equal(await page.locator('table[aria-label="Compared jobs"] [data-testid="scoring-rule"]').count(), 2);
  await shot("07-compare");

  // --- leaderboard -----------------------------------------------------------------------------
  await page.click('nav >> text="Leaderboard"');
  await page.selectOption('select[name="scope"]', "svamp");
  await page.waitForSelector(`table[aria-label="Leaderboard"] tr[data-job-id="${seriesJob}"]`);
  await page.waitForSelector(`table[aria-label="Leaderboard"] tr[data-job-id="${loraJob}"]`);
  await page.waitForSelector('table[aria-label="Leaderboard"] .badge-published');
  await page.waitForSelector(".recharts-scatter-symbol", { state: "attached" });
  // each point is labelled with its job; the table fits a 1440 px screen without scrolling sideways
  await page.waitForSelector(".recharts-label-list text", { state: "attached" });
  const pointLabels = await page.locator(".recharts-label-list text").allTextContents();
  assert.ok(pointLabels.join(" ").includes(`#${seriesJob}`), pointLabels.join(" "));
  await page.setViewportSize({ width: 1440, height: 900 });
  const overflow = await page.evaluate(() => {
    const wrap = document.querySelector("table[aria-label=Leaderboard]").closest(".table-wrap");
    return wrap.scrollWidth - wrap.clientWidth;
  });
  assert.ok(overflow <= 0, `the leaderboard scrolls sideways by ${overflow} px at 1440 px`);
  await page.waitForSelector('table[aria-label="Leaderboard"] >> text=/\\d+ of \\d+/'); // the examples behind a score
  await shot("08-leaderboard");
  await shotBothWidths("08b-leaderboard");
  await page.click(`table[aria-label="Leaderboard"] tr[data-job-id="${loraJob}"]`);
  await page.waitForURL(new RegExp(`/jobs/${loraJob}$`));

  // --- playground ------------------------------------------------------------------------------
  await page.click('nav >> text="Playground"');
  await page.selectOption('select[name="job"]', String(loraJob));
  await fill("prompt", "What is 3 + 4?");
  await fill("max_new_tokens", 4);
  await page.click('button[type="submit"]:has-text("Generate")');
  // Answered by the inference service as tokens come (not queued); kept in the history.
  await page.waitForSelector('[data-testid="history-entry"]', { timeout: 180_000 });
  assert.ok((await page.textContent('[data-testid="base-output"]')).length > 0, "no base answer");
  await shot("09-playground");
  await shotBothWidths("09b-playground");

  // --- settings: an API token is shown once, works, and is revoked ---------------------------
  await page.click('nav >> text="Settings"');
  await page.waitForSelector('table[aria-label="API tokens"]');
  await fill("token_name", "ci");
  await page.click('button:has-text("Create token")');
  const secret = await page.locator('[data-testid="new-token"]').inputValue();
  assert.match(secret, /^sst_/);
  const ciRow = page.locator('table[aria-label="API tokens"] tbody tr', { has: page.locator("td", { hasText: /^ci$/ }) });
  await ciRow.waitFor();
  assert.ok(!(await page.locator('table[aria-label="API tokens"]').innerText()).includes(secret), "the list shows the secret");
  const asCi = () => fetch(`${baseUrl}/api/v1/users/me`, { headers: { Authorization: `Bearer ${secret}` } });
  assert.equal((await asCi()).status, 200);
  await page.waitForSelector('table[aria-label="Members"] >> text="admin@studio.local"');
  await shot("10-settings");
  await ciRow.locator('button:has-text("Revoke")').click();
  await ciRow.locator('button:has-text("Yes, revoke")').click();
  await ciRow.locator('.badge:has-text("revoked")').waitFor();
  assert.equal(await page.locator('[data-testid="new-token"]').count(), 0);
  assert.equal((await asCi()).status, 401);

  // --- clone and edit keeps what was set through REST ---------------------------------------
  const datasetId = config.dataset_id;
  const restOnly = {
    training: { prompt_template: "chat", lr_scheduler: "cosine", weight_decay: 0.01, save_steps: 3 },
    evaluation: { batch_size: 2 },
  };
  const restJob = await api("/jobs", {
    method: "POST",
    body: JSON.stringify({
      config: {
        name: "rest-set",
        base_model: "tiny:llama",
        dataset_id: datasetId,
        adapter: { method: "lora", params: { r: 4 } },
        training: { max_steps: 1, ...restOnly.training },
        evaluation: restOnly.evaluation,
      },
    }),
  });
  await api(`/jobs/${restJob.id}/cancel`, { method: "POST" }).catch(() => {}); // it need not run
  await page.goto(`${baseUrl}/jobs/new?clone=${restJob.id}`);
  await page.waitForSelector('form[aria-label="New job"]');
  await fill("training.batch_size", 8);
  await page.click('button[type="submit"]:has-text("Start training")');
  await page.waitForURL(/\/jobs\/\d+$/);
  const copy = await api(`/jobs/${jobIdFromUrl()}`);
  await api(`/jobs/${copy.id}/cancel`, { method: "POST" }).catch(() => {});
  assert.equal(copy.name, "rest-set (copy)");
  assert.equal(copy.config.training.batch_size, 8);
  for (const part of ["training", "evaluation"]) {
    for (const [key, value] of Object.entries(restOnly[part])) assert.equal(copy.config[part][key], value, `${part}.${key}`);
  }

  // --- an owner invites someone new; they must choose their own password at first sign-in -----
  await page.goto(`${baseUrl}/settings`);
  await page.waitForSelector('form[aria-label="Invite someone new"]');
  await fill("invite_email", "nia@lab.example");
  await fill("invite_name", "Nia");
  await page.click('button:has-text("Invite (no account yet)")');
  const oneTime = (await page.locator('[data-testid="one-time-password"] code').innerText()).trim();
  assert.ok(oneTime.length >= 12, oneTime);
  await page.waitForSelector('table[aria-label="Members"] >> text="nia@lab.example"');
  await shotBothWidths("11-invite");
  await context.clearCookies(); // signed out: the invited person signs in on this browser
  await page.goto(baseUrl);
  await page.waitForSelector('input[name="email"]');
  await fill("email", "nia@lab.example");
  await fill("password", oneTime);
  await page.click('button[type="submit"]');
  await page.waitForSelector('form[aria-label="Set your password"]');
  await shotBothWidths("12-set-password");
  await fill("current_password", oneTime);
  await fill("new_password", "a-long-fresh-phrase");
  await fill("new_password_again", "a-long-fresh-phrase");
  await page.click('button:has-text("Set password and continue")');
  await page.waitForSelector('nav >> text="Settings"');
  const me = await page.evaluate(async () => (await fetch("/api/v1/users/me")).json());
  assert.equal(me.email, "nia@lab.example");
  assert.equal(me.must_change_password, false);
});

test("a user runs a small study: sees its cells and estimate, watches it finish, reads the table and plots, exports it", { timeout: 900_000 }, async () => {
  // --- signed in as the admin again (the test above ends as the invited member) ---------------
  await context.clearCookies();
  await page.setViewportSize({ width: 1400, height: 1000 });
  await page.goto(`${baseUrl}/`);
  await page.waitForSelector('input[name="email"]');
  await fill("email", "admin@studio.local");
  await fill("password", password);
  await page.click('button[type="submit"]');
  await page.waitForSelector('nav[aria-label="Screens"]');
  const datasets = (await api("/datasets")).data;
  if (!datasets.some((d) => d.name === "tiny-arithmetic.jsonl")) {
    await page.click('nav >> text="Datasets"');
    await page.setInputFiles('input[type="file"]', arithmeticDataset());
    await page.waitForSelector('[role="status"]:has-text("32 rows")');
  }

  // --- the Studies screen, then a study of one's own axes: LoRA rank 2, 4, 8 ------------------
  await page.click('nav >> text="Studies"');
  await page.waitForURL(/\/studies$/);
  await page.waitForSelector('.page-head h1:has-text("Studies")');
  await page.click('a:has-text("New study")');
  await page.waitForURL(/\/studies\/new$/);
  // the paper's studies come with their findings
  await page.waitForSelector('.notice-box:has-text("The paper found")');
  await page.click('[role="tab"]:has-text("My own axes")');
  await fill("study-name", "tiny-lora-rank");
  await page.selectOption('select[name="base-model"]', "tiny:llama");
  await page.selectOption('select[name="dataset"]', { label: "tiny-arithmetic.jsonl (32 rows)" });
  await page.selectOption('select[name="method"]', "lora");
  await fill("steps", 4);
  await fill("eval-examples", 4);
  await fill("max-new-tokens", 4);
  await fill("benchmarks", "svamp");
  await fill("seeds", "1");
  await fill("axis-0-name", "rank");
  await fill("axis-0-path", "adapter.params.r");
  // a value no cell can take: the server names the cell and the key, and the launch is held
  await fill("axis-0-values", "0, 4");
  const refusal = page.locator('[aria-label="Before launch"] [role="alert"]');
  await refusal.waitFor();
  assert.match(await refusal.innerText(), /cell 0 \(rank=0\): .*'r' must be at least 1/);
  assert.ok(await page.locator('button:has-text("Launch")').isDisabled(), "a refused study can be launched");
  await fill("axis-0-values", "2, 4, 8");
  await page.waitForSelector('[data-testid="plan-cells"]:has-text("3")');
  await page.waitForSelector('button:has-text("Launch 3 cells"):not([disabled])');
  const planText = await page.locator('[aria-label="Before launch"]').innerText();
  assert.match(planText, /estimated time, one cell after another\s*\d/i);
  assert.match(planText, /largest peak memory\s*[\d.]+ [KMG]iB/i);
  assert.equal(await page.locator('[aria-label="Before launch"] tbody tr').count(), 3);
  await shotBothWidths("13-new-study");
  await page.click('button:has-text("Launch 3 cells")');
  await page.waitForURL(/\/studies\/\d+$/);
  const studyId = Number(new URL(page.url()).pathname.split("/").at(-1));
  const created = await api(`/studies/${studyId}`);
  assert.equal(created.cells.length, 3);
  assert.deepEqual(created.cells.map((c) => c.labels.rank), ["2", "4", "8"]);

  // --- its page: progress over the cells until all three have run ----------------------------
  await page.waitForSelector('[data-testid="study-progress"]:has-text("of 3 cells")');
  await shotBothWidths("14a-study-running");
  await page.waitForSelector('.page-head .badge[data-status="finished"]', { timeout: JOB_TIMEOUT });
  await page.waitForSelector('[data-testid="study-progress"]:has-text("3 succeeded")');
  // each cell links to its ordinary job page
  const cellLinks = page.locator('[aria-label="Cells"] tbody a[href^="/jobs/"]');
  assert.equal(await cellLinks.count(), 3);

  // the table in the paper's shape: a row per cell, the best marked, examples and the rule
  const rows = page.locator("table.study-results tbody tr");
  assert.equal(await rows.count(), 3);
  assert.deepEqual(await rows.locator("td:first-child").allInnerTexts(), ["2", "4", "8"]);
  assert.ok((await page.locator('table.study-results [aria-label="best in column"]').count()) >= 2);
  assert.match(await rows.first().innerText(), /n=4/);
  await page.waitForSelector('[aria-label="Results"] [data-testid="scoring-rule"]');

  // the plots: the sweep, accuracy against each cost with its Pareto front, the curves overlaid
  await waitForCurve('figure[aria-label="Accuracy against the swept value"]');
  for (const title of ["trainable parameters", "peak memory", "wall time"]) {
    const symbols = page.locator(`figure[aria-label="Accuracy against ${title}"] .recharts-scatter-symbol`);
    await symbols.first().waitFor({ state: "attached" });
    assert.equal(await symbols.count(), 3, title);
  }
  await waitForCurve('figure[aria-label="Accuracy curves of the cells"]');
  assert.equal(await page.locator('figure[aria-label="Accuracy curves of the cells"] .recharts-line').count(), 3);

  // exports: Markdown through the browser's download, CSV and LaTeX read as a script would
  const [download] = await Promise.all([page.waitForEvent("download"), page.click('[aria-label="Results"] a:has-text("Markdown")')]);
  const markdown = readFileSync(await download.path(), "utf8");
  assert.match(markdown, /\| rank \|/);
  assert.equal(markdown.split("\n").filter((l) => /^\| (2|4|8) \|/.test(l)).length, 3, markdown);
  const csv = await page.request.get(baseUrl + (await page.locator('[aria-label="Results"] a:has-text("CSV")').getAttribute("href")));
  assert.equal(csv.status(), 200);
  assert.equal((await csv.text()).trim().split("\n").length, 4, await csv.text());
  const tex = await page.request.get(baseUrl + (await page.locator('[aria-label="Results"] a:has-text("LaTeX")').getAttribute("href")));
  assert.match(await tex.text(), /\\begin\{tabular\}/);

  // no sideways page scroll at a phone's width (tables scroll in their own box)
  await page.setViewportSize({ width: 390, height: 900 });
  await page.waitForTimeout(300);
  const sideways = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  assert.ok(sideways <= 0, `the study page scrolls sideways by ${sideways} px at 390 px`);
  await shotBothWidths("14-study-page");

  // --- the list: its own URL, the study finished over its cells --------------------------------
  await page.click('nav >> text="Studies"');
  await page.waitForSelector(`a[href="/studies/${studyId}"]`);
  const listRow = page.locator("tr", { has: page.locator(`a[href="/studies/${studyId}"]`) });
  await listRow.locator('.badge[data-status="finished"]').waitFor();
  await shotBothWidths("15-studies-list");

  // --- delete asks first, then removes the study and its jobs ----------------------------------
  await page.click(`a[href="/studies/${studyId}"]`);
  await page.waitForSelector('.page-head button:has-text("Delete")');
  await page.click('.page-head button:has-text("Delete")');
  await page.waitForSelector('[role="group"][aria-label*="Delete the study"]');
  assert.equal((await api(`/studies/${studyId}`)).id, studyId, "Delete acted before it was confirmed");
  await page.click('.page-head button:has-text("Delete study")');
  await page.waitForURL(/\/studies$/);
  await page.waitForSelector(`a[href="/studies/${studyId}"]`, { state: "detached" });
  const gone = await fetch(`${baseUrl}/api/v1/studies/${studyId}`, { headers: { Authorization: `Bearer ${apiToken}` } });
  assert.equal(gone.status, 404);
});
