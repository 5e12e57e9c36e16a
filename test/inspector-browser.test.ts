/**
 * The inspector in a real browser (Debian's Chromium, driven by playwright-core): two `troupe node` processes
 * with their inspectors, the demo's session and a purchase that people approve. The page shows both nodes and
 * their actor trees; the demo's session grows message by message, with the refused move and the tester's crash
 * and restart where they happened; a person plays the approver by clicking one of the legal moves (nothing else
 * is offered) and approves the buyer's payment. Screenshots go to out/inspector/.
 *
 * Skipped, with a message, where there is no Chromium (unless TROUPE_BROWSER=1 asks for it); .ci/run installs it.
 */
import { mkdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import type { Page } from "playwright-core"
import { afterAll, describe, expect, it, vi } from "vitest"
import { browserSupport, launch } from "./support/browser.ts"
import { HANG_MILLIS, stopAll } from "./support/child.ts"
import { inspectToken, startNodes } from "./support/inspected-nodes.ts"

const root = join(import.meta.dirname, "..")
const out = join(root, "out", "inspector")

const support = browserSupport()
if (!support.run) console.warn(support.reason)

afterAll(stopAll)
vi.setConfig({ testTimeout: 300_000 })

/** Takes a screenshot and checks that it is a real picture of at least the viewport's size. */
const shot = async (page: Page, name: string) => {
  const path = join(out, name)
  await page.screenshot({ path, fullPage: true })
  const png = readFileSync(path)
  expect(png.subarray(1, 4).toString()).toBe("PNG")
  expect(png.readUInt32BE(16)).toBeGreaterThanOrEqual(1400) // width, from the IHDR chunk
  expect(png.readUInt32BE(20)).toBeGreaterThanOrEqual(900) // height
  expect(statSync(path).size).toBeGreaterThan(20_000)
}

/** An element of the page, as much as these tests read of it (the tests are typechecked without the DOM). */
interface Element {
  readonly dataset: Readonly<Record<string, string | undefined>>
  readonly textContent: string | null
  readonly style: { readonly gridColumn: string }
  querySelector(selector: string): Element | null
}

/** The rows of the session diagram on the page, in order: kind, role, label, text and grid column. */
const rows = (page: Page) =>
  page.$$eval(".seq .body .row", (els) =>
    (els as unknown as ReadonlyArray<Element>).map((el) => ({
      kind: el.dataset.kind ?? "",
      role: el.dataset.role ?? "",
      label: el.dataset.label ?? "",
      text: el.querySelector(".note, .msg")?.textContent ?? "",
      column: el.querySelector(".note, .msg")?.style.gridColumn ?? ""
    }))
  )

describe.skipIf(!support.run)("the inspector in a browser", () => {
  it("two nodes; the demo's session grows with its refusal and restart; people play a role and approve a tool call", async () => {
    mkdirSync(out, { recursive: true })
    const { alice, bob, aliceInspector } = await startNodes()
    const url = /inspector: (\S+)/.exec(alice.stdout())![1]!
    expect(url).toBe(`${aliceInspector}#token=${inspectToken}`)
    const address = url.replace(/#.*$/, "")

    const browser = await launch()
    try {
      const page = await browser.context.newPage()
      const errors: Array<string> = []
      page.on("pageerror", (error) => errors.push(error.message))

      // the cluster: both nodes, up, linked
      await page.goto(url)
      await page.locator('.card.node[data-node="alice"] h3 .status.up').waitFor()
      await page.locator('.card.node[data-node="bob"] h3 .status.up').waitFor()
      await page.locator('.card.node[data-node="alice"] tr[data-link="bob"]').waitFor()
      expect(await page.locator("#mode").textContent()).toBe("actions enabled")
      await shot(page, "cluster.png")

      // the actor tree of each node
      await page.goto(`${address}#/actors`)
      await page.locator('section.tree[data-node="alice"] .actor[data-path="/user/team/tester"]').waitFor()
      await page.locator('section.tree[data-node="bob"] .actor[data-path="/user/approver"]').waitFor()
      expect(
        await page.locator('section.tree[data-node="alice"] .actor[data-path="/user/team"] .name').textContent()
      ).toBe("team")
      await shot(page, "actors.png")

      // the demo's session, watched from its shared link before it starts: it grows message by message
      await page.goto(`${address}#/sessions/demo-1`)
      await page.locator(".session-head").getByText("not seen (yet)").waitFor()
      // records how many messages the diagram shows at each change, until the session is over
      await page.evaluate(`
        window.seen = []
        new MutationObserver(() => {
          const sends = document.querySelectorAll(".seq .body .row[data-kind=send]").length
          if (document.querySelector("[data-outcome=completed]") === null && window.seen.at(-1) !== sends) window.seen.push(sends)
        }).observe(document.body, { childList: true, subtree: true })
      `)
      alice.process.stdin!.write("demo\n")
      await page.locator('.session-head [data-outcome="completed"]').waitFor({ timeout: HANG_MILLIS })
      const seen = (await page.evaluate("window.seen")) as Array<number>
      // each message appeared before the session ended, one or a few at a time
      expect(new Set(seen).size).toBeGreaterThanOrEqual(6)
      expect(seen).toEqual([...seen].sort((x, y) => x - y))
      // four lanes that fit the window, their names in a header that stays on top
      const lanes = page.locator(".seq .head .role")
      expect(await lanes.allTextContents()).toEqual([
        "Planner/user/team/planner",
        "Coder/user/team/coder",
        "Tester/user/team/tester",
        "Reviewer/user/team/reviewer"
      ])
      const last = await lanes.nth(3).boundingBox()
      expect(last!.x + last!.width).toBeLessThanOrEqual(1400)
      expect(await page.evaluate(`getComputedStyle(document.querySelector(".seq .head")).position`)).toBe("sticky")
      expect(await page.locator(".session-head .session-id").textContent()).toBe("demo-1")
      // the refusal and the restart, where they happened
      const diagram = await rows(page)
      const at = (predicate: (r: (typeof diagram)[number]) => boolean) => diagram.findIndex(predicate)
      const task = at((r) => r.kind === "send" && r.label === "task")
      const refusal = at((r) => r.text.includes("refused before it left"))
      const patch = at((r) => r.kind === "send" && r.label === "patch")
      const crash = at((r) => r.kind === "crash")
      const restart = at((r) => r.kind === "resume")
      const report = at((r) => r.kind === "send" && r.label === "report")
      expect([task, refusal, patch, crash, restart, report].every((i) => i >= 0)).toBe(true)
      expect(task < refusal && refusal < patch && patch < crash && crash < restart && restart < report).toBe(true)
      expect(diagram[refusal]).toMatchObject({ kind: "note", role: "Coder", column: "3 / 4" })
      expect(diagram[crash]).toMatchObject({ role: "Tester", column: "4 / 5" })
      expect(diagram[crash]!.text).toContain("crashed: the test sandbox died")
      expect(diagram[restart]!.text).toContain("restarted; resumed from its checkpoint")
      expect(diagram.filter((r) => r.kind === "send")).toHaveLength(11)
      // long payloads fold
      await page.locator(".msg .label details").first().waitFor()
      await shot(page, "session-demo.png")
      await alice.line("demo-1 completed")

      // a purchase: the approver is a person on bob; the buyer's payment needs a person's approval on alice
      await page.locator("#who").fill("Olga")
      await page.locator("#who").dispatchEvent("change")
      alice.process.stdin!.write("purchase\n")
      await page.goto(`${address}#/people`)
      const move = page.locator('.question[data-kind="move"][data-node="bob"]')
      await move.waitFor({ timeout: HANG_MILLIS })
      expect(await move.locator("h3").textContent()).toBe("Approver's move in session purchase-1 of Purchase")
      await move.getByText('{"item":"desk lamp","price":120}').waitFor()
      // exactly the moves the approver's local type allows now; no order, no cancel, nothing to the supplier
      expect(
        await move
          .locator(".move")
          .evaluateAll((els) => (els as unknown as ReadonlyArray<Element>).map((el) => el.dataset.move))
      ).toEqual(["Buyer!approve({ note: string })", "Buyer!reject({ reason: string })"])
      expect(await move.locator('[data-move*="Supplier"], [data-move*="order"]').count()).toBe(0)
      await shot(page, "people-move.png")
      const approve = move.locator('.move[data-move^="Buyer!approve"]')
      await approve.locator('input[name="note"]').fill("within budget")
      await approve.locator("button[type=submit]").click()

      const approval = page.locator('.question[data-kind="approval"][data-node="alice"]')
      await approval.waitFor({ timeout: HANG_MILLIS })
      expect(await approval.locator("h3").textContent()).toBe(
        'Buyer wants to call pay({"amount":120,"to":"Lamps & Co"})'
      )
      expect(await approval.locator("pre.arguments").textContent()).toContain('"to": "Lamps & Co"')
      await shot(page, "people-approval.png")
      await approval.locator('button[data-decision="approve"]').click()
      await approval.waitFor({ state: "detached", timeout: HANG_MILLIS })
      await alice.line("purchase-1 completed")

      // the purchase, as the page draws it: the person's move and the person's approval where they happened
      await page.goto(`${address}#/sessions/purchase-1`)
      await page.locator('.session-head [data-outcome="completed"]').waitFor()
      const purchase = await rows(page)
      const approved = purchase.findIndex((r) => r.kind === "send" && r.label === "approve" && r.role === "Approver")
      const paid = purchase.findIndex((r) => r.kind === "note" && r.text.includes("Olga approved pay("))
      const order = purchase.findIndex((r) => r.kind === "send" && r.label === "order")
      expect(approved >= 0 && approved < paid && paid < order).toBe(true)
      expect(purchase[approved]!.text).toContain('approve({"note":"within budget"})')
      await shot(page, "session-purchase.png")

      // the agents' work: the buyer's calls, tokens and the approval
      await page.goto(`${address}#/agents`)
      const buyer = page.locator('tr[data-agent="/user/buyer"]')
      await buyer.waitFor()
      expect(await buyer.locator("td").nth(4).textContent()).toBe("1") // one tool call
      await shot(page, "agents.png")
      expect(errors).toEqual([])
    } finally {
      await browser.close()
      alice.process.kill("SIGINT")
      bob.process.kill("SIGINT")
    }
    expect((await alice.exited()).code).toBe(0)
    expect((await bob.exited()).code).toBe(0)
  })
})
