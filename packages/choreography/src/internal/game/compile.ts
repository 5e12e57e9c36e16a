/**
 * From a protocol and its strategic annotations to the extensive-form game behind it: the protocol's
 * runs, loops unrolled to a horizon, as a tree of chance nodes (nature's draws), decision nodes (a role's
 * choice of a branch or of a payload in a finite domain) and terminal nodes (each player's utility of
 * what it observed). A role's information set at a decision is what it has observed so far (the messages
 * it sent and received, as projection gives them) and the moves open to it.
 */
import type { Step, Steps } from "../../Choreography.ts"
import type { Action, Chance, Decision, Domain, InfoSet, Node, Problem, Terminal } from "../../Game.ts"
import { type Global, type GMessage, toTree } from "../tree.ts"
import { finiteDomain, showValue } from "./domain.ts"

export interface Compiled {
  readonly root: Node
  readonly infosets: ReadonlyArray<InfoSet>
  readonly nodes: number
  /** By role and view (see {@link viewKey}): the move a role makes without a choice, and nature's draws. */
  readonly forced: ReadonlyMap<string, Action>
  readonly chances: ReadonlyMap<string, Chance>
}

/** How a role's view is keyed: the role, and each message it observed (`A>B:price(3)`). */
export const viewKey = (
  role: string,
  view: ReadonlyArray<{ readonly from: string; readonly to: string; readonly name: string }>
) => `${role}|${view.map((a) => `${a.from}>${a.to}:${a.name}`).join(";")}`

export interface CompileOptions {
  readonly nature: string | undefined
  readonly priors: Readonly<Record<string, ReadonlyArray<readonly [unknown, number]>>>
  readonly domains: Readonly<Record<string, Domain>>
  readonly utilities: ReadonlyMap<
    string,
    { readonly reads: ReadonlyArray<string>; readonly value: (o: never) => number }
  >
  readonly horizon: number
  readonly maxNodes: number
}

/** Every message of `steps`, in order (branches, bodies and parts included). */
export const messagesOf = (steps: Steps): ReadonlyArray<Extract<Step, { _tag: "Message" }>> => {
  const out: Array<Extract<Step, { _tag: "Message" }>> = []
  const visit = (list: Steps): void => {
    for (const step of list) {
      switch (step._tag) {
        case "Message":
          out.push(step)
          break
        case "Choice":
          for (const branch of Object.values(step.branches)) visit(branch)
          break
        case "Loop":
          visit(step.body)
          break
        case "Parallel":
          for (const part of step.parts) visit(part)
          break
        case "Include":
          visit(step.body)
          break
      }
    }
  }
  visit(steps)
  return out
}

class Refused extends Error {
  readonly problem: Problem
  constructor(problem: Problem) {
    super(problem.message)
    this.problem = problem
  }
}

interface Redirect {
  /** When the walk reaches this node (the end of a parallel part)… */
  readonly target: Global
  /** …it goes on with the next part instead. */
  readonly parts: ReadonlyArray<Global>
}

interface State {
  readonly history: ReadonlyArray<Action>
  readonly views: ReadonlyMap<string, ReadonlyArray<Action>>
  readonly loops: ReadonlyMap<string, number>
  readonly redirects: ReadonlyArray<Redirect>
}

/** The game tree of `steps`, or the problem that prevents it. */
export const compile = (
  protocol: string,
  roles: ReadonlyArray<string>,
  steps: Steps,
  options: CompileOptions
): Compiled | Problem => {
  const infosets = new Map<string, InfoSet & { nodes: Array<Decision> }>()
  const forced = new Map<string, Action>()
  const chances = new Map<string, Chance>()
  let nodes = 0
  const count = () => {
    if (++nodes > options.maxNodes)
      throw new Refused({
        code: "TooLarge",
        message: `the game of ${protocol} has more than ${options.maxNodes} nodes: lower the horizon (${options.horizon}) or the domains`
      })
  }

  const domainOf = (m: GMessage["message"], state: State): ReadonlyArray<unknown> => {
    const domain = options.domains[m.label]
    const given =
      (typeof domain === "function" ? domain(state.views.get(m.from) ?? []) : domain) ??
      (m.from === options.nature ? options.priors[m.label]?.map(([v]) => v) : undefined)
    const values = given ?? finiteDomain(m.payload)
    if (values === undefined || values.length === 0)
      throw new Refused({
        code: "NoFiniteDomain",
        role: m.from,
        label: m.label,
        message: `${m.from} -> ${m.to}: ${m.label}: its payload has no finite domain to choose from; give one in domains.${m.label} (e.g. [10, 20, 30])`
      })
    return values
  }

  const weightsOf = (label: string, values: ReadonlyArray<unknown>): ReadonlyArray<number> => {
    const prior = options.priors[label]
    if (prior === undefined) return values.map(() => 1 / values.length)
    const total = prior.reduce((s, [, w]) => s + w, 0)
    return values.map((v) => (prior.find(([x]) => x === v)?.[1] ?? 0) / total)
  }

  const actionOf = (m: GMessage["message"], payload: unknown): Action => {
    const shown = showValue(payload)
    return { from: m.from, to: m.to, label: m.label, payload, name: shown === "" ? m.label : `${m.label}(${shown})` }
  }

  const record = (state: State, action: Action): State => {
    const views = new Map(state.views)
    for (const role of [action.from, action.to]) views.set(role, [...(views.get(role) ?? []), action])
    return { ...state, history: [...state.history, action], views }
  }

  const terminal = (state: State, cut: boolean): Terminal => {
    const payoffs: Record<string, number> = {}
    for (const role of roles) {
      if (role === options.nature) continue
      const utility = options.utilities.get(role)
      payoffs[role] = utility === undefined ? 0 : evaluate(role, utility, state.views.get(role) ?? [])
    }
    return { _tag: "Terminal", payoffs, history: state.history, cut }
  }

  const evaluate = (
    role: string,
    utility: { readonly reads: ReadonlyArray<string>; readonly value: (o: never) => number },
    view: ReadonlyArray<Action>
  ): number => {
    const observed: Record<string, unknown> = {}
    for (const action of view)
      if (utility.reads.includes(action.label))
        observed[action.label] = action.payload === undefined ? true : action.payload
    const guarded = new Proxy(observed, {
      get: (target, key) => {
        if (typeof key === "string" && !utility.reads.includes(key))
          throw new Refused({
            code: "UndeclaredRead",
            role,
            label: key,
            message: `the utility of ${role} reads "${key}", which it does not declare in its reads (${utility.reads.join(", ")}): declare every message label a utility depends on`
          })
        return Reflect.get(target, key)
      }
    })
    let value: number
    try {
      value = utility.value(guarded as never)
    } catch (e) {
      if (e instanceof Refused) throw e
      throw new Refused({
        code: "UtilityFailed",
        role,
        message: `the utility of ${role} threw on the run ${view.map((a) => a.name).join(", ")}: ${e instanceof Error ? e.message : String(e)}`
      })
    }
    if (typeof value !== "number" || !Number.isFinite(value))
      throw new Refused({
        code: "UtilityFailed",
        role,
        message: `the utility of ${role} answered ${String(value)} (not a finite number) on the run ${view.map((a) => a.name).join(", ") || "(nothing observed)"}`
      })
    return value
  }

  const decision = (player: string, state: State, moves: ReadonlyArray<{ action: Action; next: () => Node }>): Node => {
    count()
    const view = state.views.get(player) ?? []
    const key = `${viewKey(player, view)}|${moves.map((m) => m.action.name).join(",")}`
    let infoset = infosets.get(key)
    if (infoset === undefined) {
      infoset = { id: infosets.size, player, key, view, actions: moves.map((m) => m.action.name), nodes: [] }
      infosets.set(key, infoset)
    }
    const node: Decision = { _tag: "Decision", player, infoset, moves: [] }
    infoset.nodes.push(node)
    ;(node as { moves: unknown }).moves = moves.map((m) => ({ action: m.action, node: m.next() }))
    return node
  }

  const chance = (
    label: string,
    state: State,
    outcomes: ReadonlyArray<{ action: Action; probability: number; next: () => Node }>
  ): Chance => {
    count()
    const node: Chance = {
      _tag: "Chance",
      label,
      outcomes: outcomes.map((o) => ({ action: o.action, probability: o.probability, node: o.next() }))
    }
    if (options.nature !== undefined) chances.set(viewKey(options.nature, state.views.get(options.nature) ?? []), node)
    return node
  }

  /** The one move open to `role`: no decision, but a role playing the game must know it. */
  const only = (role: string, state: State, move: { action: Action; next: () => Node }): Node => {
    forced.set(viewKey(role, state.views.get(role) ?? []), move.action)
    return move.next()
  }

  /** The moves a message offers its sender: one per value of its payload's domain. */
  const sends = (m: GMessage, state: State) =>
    domainOf(m.message, state).map((payload) => {
      const action = actionOf(m.message, payload)
      return { action, next: () => walk(m.next, record(state, action)) }
    })

  /** The first message of a branch, entering loops on the way. */
  const firstMessage = (tree: Global, state: State): { message: GMessage; state: State } | undefined => {
    let node = tree
    let loops = state.loops
    for (;;) {
      if (node._tag === "Message") return { message: node, state: { ...state, loops } }
      if (node._tag === "Rec") {
        loops = new Map(loops).set(node.name, 0)
        node = node.body
      } else if (node._tag === "Var") {
        const n = loops.get(node.name) ?? 0
        if (n >= options.horizon) return undefined
        loops = new Map(loops).set(node.name, n + 1)
        node = node.loop.body
      } else return undefined
    }
  }

  const walk = (node: Global, state: State): Node => {
    const redirect = state.redirects.at(-1)
    if (redirect !== undefined && node === redirect.target) {
      const [first, ...rest] = redirect.parts
      const redirects = state.redirects.slice(0, -1)
      return walk(first!, {
        ...state,
        redirects: rest.length === 0 ? redirects : [...redirects, { ...redirect, parts: rest }]
      })
    }
    switch (node._tag) {
      case "End":
        count()
        return terminal(state, false)
      case "Message": {
        const moves = sends(node, state)
        if (node.message.from === options.nature) {
          const weights = weightsOf(
            node.message.label,
            moves.map((m) => m.action.payload)
          )
          return chance(
            node.message.label,
            state,
            moves.map((m, i) => ({ ...m, probability: weights[i]! }))
          )
        }
        if (moves.length === 1) return only(node.message.from, state, moves[0]!)
        return decision(node.message.from, state, moves)
      }
      case "Choice": {
        const moves: Array<{ action: Action; next: () => Node }> = []
        for (const branch of node.branches) {
          const first = firstMessage(branch.tree, state)
          if (first !== undefined) moves.push(...sends(first.message, first.state))
        }
        if (moves.length === 0) {
          count()
          return terminal(state, true)
        }
        if (node.at === options.nature)
          return chance(
            `choice at ${node.at}`,
            state,
            moves.map((m) => ({ ...m, probability: 1 / moves.length }))
          )
        if (moves.length === 1) return only(node.at, state, moves[0]!)
        return decision(node.at, state, moves)
      }
      case "Rec":
        return walk(node.body, { ...state, loops: new Map(state.loops).set(node.name, 0) })
      case "Var": {
        const n = state.loops.get(node.name) ?? 0
        if (n >= options.horizon) {
          count()
          return terminal(state, true)
        }
        return walk(node.loop.body, { ...state, loops: new Map(state.loops).set(node.name, n + 1) })
      }
      case "Parallel": {
        const [first, ...rest] = node.parts.map((p) => p.tree)
        const redirects = rest.length === 0 ? state.redirects : [...state.redirects, { target: node.next, parts: rest }]
        return walk(first ?? node.next, { ...state, redirects })
      }
    }
  }

  try {
    const root = walk(toTree(steps), { history: [], views: new Map(), loops: new Map(), redirects: [] })
    return { root, infosets: [...infosets.values()], nodes, forced, chances }
  } catch (e) {
    if (e instanceof Refused) return e.problem
    if (e instanceof RangeError)
      return {
        code: "TooLarge",
        message: `the game of ${protocol} is too deep to build: lower the horizon (${options.horizon})`
      }
    throw e
  }
}
