/**
 * The demo's console: one line per event, coloured on a terminal, plain text otherwise (or with NO_COLOR).
 */
import { Effect } from "effect"

const colour = process.stdout.isTTY === true && process.env.NO_COLOR === undefined && process.env.TERM !== "dumb"

const paint = (code: number) => (text: string) => (colour ? `\x1b[${code}m${text}\x1b[0m` : text)

export const bold = paint(1)
export const dim = paint(2)
export const red = paint(31)
export const green = paint(32)
export const yellow = paint(33)
export const cyan = paint(36)

const roleColour: Record<string, (text: string) => string> = {
  Planner: paint(35),
  Coder: paint(34),
  Tester: paint(33),
  Reviewer: paint(36)
}

/** A role's name, padded and in its colour. */
export const role = (name: string): string => (roleColour[name] ?? ((t: string) => t))(name.padEnd(8))

const started = Date.now()

/** Prints one line, prefixed with the time since the demo started. */
export const line = (text: string): Effect.Effect<void> =>
  Effect.sync(() => {
    const seconds = ((Date.now() - started) / 1000).toFixed(2).padStart(6)
    process.stdout.write(`${dim(`${seconds}s`)}  ${text}\n`)
  })
