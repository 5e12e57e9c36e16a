/**
 * The global protocol as a tree whose continuations are shared: every node knows what follows it, and
 * the branches of a choice (or the parts of a parallel) share the node that follows the choice, so the
 * tree is as large as the protocol. Built without recursion. Each node knows its loop depth (how many
 * loops enclose it), which is what projection needs to tell which loops a role has not acted in.
 */
import type { Message, Step, Steps } from "../Choreography.ts"
import { type Site, siteOf } from "./site.ts"
import { drain } from "./solve.ts"

/**
 * Where in a protocol: a list of segments, outermost first once materialised with {@link segments}; a segment
 * may name the step it stands for (a branch or a part: its first step), whose place in the source says where.
 */
export interface Path {
  readonly parent: Path | undefined
  readonly segment: string
  readonly step?: unknown
}

/** `segment` (standing for `step`, if given) inside `parent`. */
export const within = (parent: Path | undefined, segment: string, step?: unknown): Path =>
  step === undefined ? { parent, segment } : { parent, segment, step }

/** Where in its source the innermost step of `path` that has a place was written (see site.ts). */
export const sourceOf = (path: Path | undefined): Site | undefined => {
  for (let p = path; p !== undefined; p = p.parent) {
    const site = siteOf(p.step)
    if (site !== undefined) return site
  }
  return undefined
}

/** The first step of a list of steps, if it is one. */
export const firstOf = (steps: unknown): unknown => (Array.isArray(steps) ? steps[0] : undefined)

/** The segments of a path, outermost first. */
export const segments = (path: Path | undefined): Array<string> => {
  const out: Array<string> = []
  for (let p = path; p !== undefined; p = p.parent) out.push(p.segment)
  return out.reverse()
}

export interface GMessage {
  readonly _tag: "Message"
  readonly message: Message
  readonly next: Global
  readonly depth: number
}
export interface GChoice {
  readonly _tag: "Choice"
  readonly at: string
  readonly path: Path
  readonly branches: ReadonlyArray<{ readonly name: string; readonly tree: Global }>
  readonly depth: number
}
/** A loop: its body is one level deeper. */
export interface GRec {
  readonly _tag: "Rec"
  readonly name: string
  readonly body: Global
  readonly depth: number
}
/** `continue name`: `level` is the depth of the loop's body (1 for the outermost loop); `loop` is that loop. */
export interface GVar {
  readonly _tag: "Var"
  readonly name: string
  readonly level: number
  readonly depth: number
  readonly loop: { body: Global }
}
export interface GEnd {
  readonly _tag: "End"
  readonly depth: number
}
export interface GParallel {
  readonly _tag: "Parallel"
  readonly parts: ReadonlyArray<{ readonly roles: ReadonlySet<string>; readonly tree: Global }>
  readonly next: Global
  readonly depth: number
}

/** A node of the global tree. */
export type Global = GMessage | GChoice | GRec | GVar | GEnd | GParallel

const END: GEnd = { _tag: "End", depth: 0 }

interface Loops {
  readonly name: string
  readonly level: number
  readonly outer: Loops | undefined
  /** The loop's body, once built (a `continue` points to it). */
  readonly loop: { body: Global }
}

/** The tree of `steps` (assumed structurally valid: see wellFormed.ts). */
export const toTree = (steps: Steps): Global => {
  let root: Global = END
  const tasks: Array<() => void> = []
  /** Schedules the tree of `list` followed by `next`, handed to `out`. */
  const list = (
    list: Steps,
    next: Global,
    path: Path | undefined,
    loops: Loops | undefined,
    depth: number,
    out: (tree: Global) => void
  ) => {
    let i = list.length - 1
    let k = next
    const resume = (): void => {
      while (i >= 0) {
        const step = list[i--]!
        const simple = leaf(step, k, loops, depth)
        if (simple !== undefined) {
          k = simple
          continue
        }
        // Children first, then the node, then the steps before it.
        tasks.push(resume)
        compound(step, k, path, loops, depth, (tree) => {
          k = tree
        })
        return
      }
      out(k)
    }
    tasks.push(resume)
  }
  /** The node of a step without nested steps; `undefined` for the others. */
  const leaf = (step: Step, next: Global, loops: Loops | undefined, depth: number): Global | undefined => {
    switch (step._tag) {
      case "Message":
        return { _tag: "Message", message: step, next, depth }
      case "Continue": {
        let loop = loops
        while (loop !== undefined && loop.name !== step.name) loop = loop.outer
        return { _tag: "Var", name: step.name, level: loop?.level ?? 0, depth, loop: loop?.loop ?? { body: END } }
      }
      case "End":
        return END
      default:
        return undefined
    }
  }
  /** Schedules the node of a step with nested steps, handed to `done`. */
  const compound = (
    step: Step,
    next: Global,
    path: Path | undefined,
    loops: Loops | undefined,
    depth: number,
    done: (tree: Global) => void
  ): void => {
    switch (step._tag) {
      case "Choice": {
        const here = within(path, `choice at ${step.at}`, step)
        const entries = Object.entries(step.branches)
        const branches: Array<{ name: string; tree: Global }> = entries.map(([name]) => ({ name, tree: END }))
        // A branch that starts with a choice by the same role is a group of branches of this choice.
        tasks.push(() =>
          done({
            _tag: "Choice",
            at: step.at,
            path: here,
            branches: branches.flatMap((b) =>
              b.tree._tag === "Choice" && b.tree.at === step.at ? b.tree.branches : [b]
            ),
            depth
          })
        )
        entries.forEach(([name, steps], j) => {
          list(steps, next, within(here, `branch "${name}"`, firstOf(steps)), loops, depth, (tree) => {
            branches[j]!.tree = tree
          })
        })
        return
      }
      case "Loop": {
        const inner = { name: step.name, level: depth + 1, outer: loops, loop: { body: END as Global } }
        tasks.push(() => done({ _tag: "Rec", name: step.name, body: inner.loop.body, depth }))
        list(step.body, next, within(path, `loop "${step.name}"`), inner, depth + 1, (tree) => {
          inner.loop.body = tree
        })
        return
      }
      case "Parallel": {
        const parts = step.parts.map((part) => ({ roles: rolesOf(part), tree: END as Global }))
        tasks.push(() => done({ _tag: "Parallel", parts, next, depth }))
        step.parts.forEach((part, j) => {
          list(part, next, within(path, `parallel part ${j + 1}`), loops, depth, (tree) => {
            parts[j]!.tree = tree
          })
        })
        return
      }
      case "Include":
        list(step.body, next, within(path, `include "${step.protocol}"`), loops, depth, done)
        return
      default:
        done(leaf(step, next, loops, depth)!)
    }
  }
  list(steps, END, undefined, undefined, 0, (tree) => {
    root = tree
  })
  drain(tasks)
  return root
}

/** Every role that occurs in `steps`. */
export const rolesOf = (steps: Steps, into: Set<string> = new Set()): Set<string> => {
  const lists: Array<Steps> = [steps]
  while (lists.length > 0) {
    for (const step of lists.pop()!) {
      switch (step._tag) {
        case "Message":
          into.add(step.from).add(step.to)
          break
        case "Choice":
          into.add(step.at)
          for (const branch of Object.values(step.branches)) lists.push(branch)
          break
        case "Loop":
          lists.push(step.body)
          break
        case "Parallel":
          for (const part of step.parts) lists.push(part)
          break
        case "Include":
          lists.push(step.body)
          break
      }
    }
  }
  return into
}

/**
 * The first messages of a branch: where its chooser's first sends are, looking through loops that start
 * it, `continue`s (to the start of their loop) and choices by the same role. Empty when the branch starts
 * anything else, or loops back to itself before any message.
 */
export const firstMessages = (start: Global, chooser: string): Array<GMessage> => {
  const found: Array<GMessage> = []
  const seen = new Set<Global>()
  const todo: Array<Global> = [start]
  while (todo.length > 0) {
    const node = todo.pop()!
    if (seen.has(node)) continue
    seen.add(node)
    switch (node._tag) {
      case "Message":
        found.push(node)
        break
      case "Rec":
        todo.push(node.body)
        break
      case "Var":
        todo.push(node.loop.body)
        break
      case "Choice":
        if (node.at === chooser) for (let i = node.branches.length - 1; i >= 0; i--) todo.push(node.branches[i]!.tree)
        break
    }
  }
  return found
}
