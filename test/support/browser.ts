/**
 * A real browser for tests: Debian's Chromium (`apt-get install -y chromium`), driven by `playwright-core`
 * (which downloads no browser), headless, with a fresh profile every time.
 *
 * Without Chromium the browser suites are skipped with a message that says how to get it, unless
 * `TROUPE_BROWSER=1` asks for them: then a missing browser is a failure.
 */
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { type BrowserContext, chromium } from "playwright-core"

/** Where Debian installs Chromium. */
export const executablePath = "/usr/bin/chromium"

/** Whether the browser suites run here, and why not when they do not. */
export const browserSupport = (): { readonly run: boolean; readonly reason: string } => {
  if (existsSync(executablePath)) return { run: true, reason: "" }
  if (process.env.TROUPE_BROWSER === "1") return { run: true, reason: "" } // the launch fails, saying why
  return {
    run: false,
    reason: `browser tests skipped: no ${executablePath} (apt-get install -y chromium, as .ci/run does; TROUPE_BROWSER=1 makes its absence a failure)`
  }
}

/** Starts Chromium with a fresh profile; `close` stops it and removes the profile. */
export const launch = async (): Promise<{ readonly context: BrowserContext; readonly close: () => Promise<void> }> => {
  if (!existsSync(executablePath)) {
    throw new Error(`TROUPE_BROWSER=1 but there is no ${executablePath}: apt-get update && apt-get install -y chromium`)
  }
  const profile = mkdtempSync(join(tmpdir(), "troupe-chromium-"))
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync"
    ]
  })
  return {
    context,
    close: async () => {
      await context.close()
      rmSync(profile, { recursive: true, force: true })
    }
  }
}
