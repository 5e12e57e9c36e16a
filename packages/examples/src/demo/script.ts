/**
 * The scripted model of the demo: what the coder's and the reviewer's model say, turn by turn, so that the
 * demo runs offline and tells the same story every time. (With OPENAI_API_KEY set, a real model speaks.)
 */
import { Turn } from "@troupe/llm"

/** A move, after a short pause (so the story unfolds at a readable pace) and with a plausible usage. */
const move = (to: string, label: string, payload: unknown) =>
  Turn.object({ move: { to, label, payload } }, { usage: { inputTokens: 420, outputTokens: 60 }, delay: "150 millis" })

/** A first attempt that misses two cases. */
export const firstDraft = `return title.toLowerCase().split(" ").join("-")`

/** The fix. */
export const secondDraft = `return title.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-+|-+$/g, "")`

const coder: ReadonlyArray<Turn.Turn> = [
  // out of protocol: the coder sends its patch straight to the reviewer; the monitor refuses it
  move("Reviewer", "patch", { round: 1, code: firstDraft }),
  move("Tester", "patch", { round: 1, code: firstDraft }),
  move("Tester", "patch", { round: 2, code: secondDraft })
]

const comments =
  "Two cases fail: collapse every run of spaces and punctuation into one hyphen, and trim hyphens at both ends."

const reviewer: ReadonlyArray<Turn.Turn> = [
  move("Coder", "changes", comments),
  move("Tester", "retest", null),
  move("Planner", "progress", "round 1: 1 of 3 tests pass; asked the coder to collapse separators and trim"),
  move("Coder", "approved", "All tests pass. Ship it."),
  move("Tester", "ship", null),
  move("Planner", "done", { code: secondDraft, rounds: 2, summary: "slugify passes its 3 tests" })
]

/** Routes each request to the next turn of the role that asks (told apart by its system prompt). */
export const script = (): ((request: Turn.Request) => Turn.Turn) => {
  const turns = { coder: [...coder], reviewer: [...reviewer] }
  return (request) => {
    const system = request.messages.flatMap((m) => (m._tag === "System" ? [m.text] : [])).join("\n")
    const role = system.includes("You are the coder") ? "coder" : "reviewer"
    const next = turns[role].shift()
    if (next === undefined) throw new Error(`the demo's script has no more turns for the ${role}`)
    return next
  }
}
