/**
 * What a runner process is waiting on, for a stop that hangs: every live Effect fiber (its log annotations, e.g. the
 * cluster's `fiber: "Shard acquisition loop"`, whether it can be interrupted, and the continuations on its stack),
 * grouped when alike. Test support only: {@link track} hooks Effect's fiber run loop to know the live fibers (Effect
 * keeps no registry), so it is installed by the runner scripts, not by the library.
 */
import { Effect, References } from "effect"

interface FiberLike {
  readonly id: number
  readonly interruptible: boolean
  readonly _stack: ReadonlyArray<Record<PropertyKey, unknown>>
  readonly _exit: unknown
  getRef<X>(ref: unknown): X
  addObserver(cb: () => void): void
}

const live = new Set<FiberLike>()
const tracked = new WeakSet<FiberLike>()

/** Starts tracking the live fibers of this process (once; fibers that ran before are not seen). */
export const track = (): void => {
  const probe = Effect.runFork(Effect.void)
  const proto = Object.getPrototypeOf(probe) as { runLoop: (effect: unknown) => unknown; __dumpTracked?: boolean }
  if (proto.__dumpTracked) return
  proto.__dumpTracked = true
  const runLoop = proto.runLoop
  proto.runLoop = function (this: FiberLike, effect: unknown) {
    if (!tracked.has(this) && this._exit === undefined) {
      tracked.add(this)
      live.add(this)
      this.addObserver(() => live.delete(this))
    }
    return runLoop.call(this, effect)
  }
}

/** A stack frame, short: its primitive's op and the names (or first characters) of the functions it holds. */
const frame = (primitive: Record<PropertyKey, unknown>): string => {
  const parts: Array<string> = []
  for (const key of Reflect.ownKeys(primitive)) {
    const value = primitive[key]
    const fn =
      typeof value === "function"
        ? value
        : Array.isArray(value)
          ? value.find((v) => typeof v === "function")
          : typeof value === "object" && value !== null && typeof (value as { f?: unknown }).f === "function"
            ? (value as { f: unknown }).f
            : undefined
    if (typeof fn === "function") {
      parts.push(fn.name !== "" ? fn.name : String(fn).replace(/\s+/g, " ").slice(0, 90))
    }
  }
  const op = (primitive as { _op?: unknown })._op ?? primitive.constructor?.name ?? "?"
  return `${String(op)}(${parts.join(" | ")})`
}

/** The live fibers, alike ones counted together: `[count] id=.. annotations interruptible stack`. */
export const dump = (): Array<string> => {
  const groups = new Map<string, { count: number; ids: Array<number> }>()
  for (const fiber of live) {
    let annotations: unknown
    try {
      annotations = fiber.getRef(References.CurrentLogAnnotations)
    } catch {
      annotations = undefined
    }
    const stack = fiber._stack.slice(-12).map(frame).reverse().join(" < ")
    const key = `${JSON.stringify(annotations ?? {})} ${fiber.interruptible ? "interruptible" : "UNINTERRUPTIBLE"} ${stack}`
    const group = groups.get(key) ?? { count: 0, ids: [] }
    group.count++
    if (group.ids.length < 5) group.ids.push(fiber.id)
    groups.set(key, group)
  }
  return [...groups].map(([key, { count, ids }]) => `[${count}] ids=${ids.join(",")} ${key}`)
}
