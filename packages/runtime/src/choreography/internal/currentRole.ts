/**
 * The session role a fiber works for: a role's program runs with it, so that what the program does on the
 * side (a person approving a tool call, say) can be written into the session's trace and events.
 */
import { Context } from "effect"

/** A role of a session, as its program's fiber sees it. */
export interface CurrentRole {
  readonly session: string
  readonly protocol: string
  readonly role: string
  /** The participant's actor. */
  readonly path: string
  /** Writes a note into the role's trace (and publishes it as a `SessionNote`). */
  readonly note: (text: string) => void
}

/** The role the current fiber plays, if any. */
export const CurrentRole = Context.Reference<CurrentRole | undefined>("@troupe/runtime/Session/CurrentRole", {
  defaultValue: () => undefined
})
