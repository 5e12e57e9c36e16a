/**
 * The scripted model of the agree example: it answers as each voter (the frontend engineer dissents on
 * storage) and as the builder (whose first change uses another database, and is refused).
 */
import { Turn } from "@troupe/llm"

const reasons: Record<string, Record<string, string>> = {
  backend: {
    storage: "SQLite is one file and needs no server: right for a personal app",
    schema: "one table is enough; JSON columns keep the model flexible",
    library: "drizzle gives typed queries over SQLite without much ceremony"
  },
  frontend: {
    storage: "IndexedDB in the browser would let the app work offline without a backend",
    schema: "the UI needs exactly these fields",
    library: "fine with drizzle if we have a backend anyway"
  },
  qa: {
    storage: "a SQLite file per test run makes tests fast and isolated",
    schema: "easy to seed with fixtures",
    library: "drizzle's migrations are easy to run in CI"
  }
}

const move = (to: string, label: string, payload: unknown) => Turn.object({ move: { to, label, payload } })

export const script: Turn.Script = (request) => {
  const all = request.messages.map((m) => ("text" in m && typeof m.text === "string" ? m.text : "")).join("\n")
  const voter = /You are (\w+), a voter/.exec(all)?.[1]
  if (voter !== undefined) {
    const topic = /Proposal on "(\w+)"/.exec(all)?.[1] ?? "storage"
    const vote = voter === "frontend" && topic === "storage" ? "no" : "yes"
    return Turn.object({ vote, reason: reasons[voter]?.[topic] ?? "agreed" })
  }
  // The builder: what it said so far says where it is.
  const said = request.messages.flatMap((m) => (m._tag === "Assistant" ? [m.text] : []))
  if (said.length === 0)
    return move("Lead", "change", {
      file: "src/db.ts",
      summary: "connect to the database",
      storage: "MongoDB",
      library: "mongoose"
    })
  if (said.at(-1)!.includes("MongoDB"))
    return move("Lead", "change", {
      file: "src/db.ts",
      summary: "open recipes.db with drizzle",
      storage: "SQLite",
      library: "drizzle-orm"
    })
  if (!said.some((t) => t.includes("src/recipes.ts")))
    return move("Lead", "change", {
      file: "src/recipes.ts",
      summary: "the recipes table and its queries",
      storage: "SQLite",
      library: "drizzle-orm"
    })
  return move("Lead", "done", "db.ts and recipes.ts are written")
}
