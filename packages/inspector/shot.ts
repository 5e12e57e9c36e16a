import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { chromium } from "playwright-core"

const [url, out, width = "1400", height = "900", wait = "500"] = process.argv.slice(2)
const browser = await chromium.launchPersistentContext(mkdtempSync(join(tmpdir(), "chr-")), {
  executablePath: "/usr/bin/chromium",
  viewport: { width: Number(width), height: Number(height) },
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
const page = await browser.newPage()
page.on("console", (m) => console.log("console:", m.type(), m.text()))
page.on("pageerror", (e) => console.log("pageerror:", e.message))
await page.goto(url!)
await page.waitForTimeout(Number(wait))
await page.screenshot({ path: out!, fullPage: true })
await browser.close()
