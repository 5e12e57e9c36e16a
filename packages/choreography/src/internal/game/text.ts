/** The game as text: Gambit's `.efg`, an indented tree, an information set in a line (see `Game`). */
import type { Game, InfoSet, Node } from "../../Game.ts"

const quote = (s: string) => `"${s.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`
const num = (n: number) => (Number.isInteger(n) ? String(n) : String(Number(n.toPrecision(12))))

/**
 * The game in Gambit's extensive-form format (`.efg`, version 2), for Gambit's solvers and viewers:
 * players, chance nodes with their probabilities, information sets (numbered per player) and outcomes.
 *
 * @example
 * ```ts
 * writeFileSync("lemons.efg", Game.toEfg(game))   // gambit-logit lemons.efg
 * ```
 */
export const toEfg = (game: Game): string => {
  const lines = [
    `EFG 2 R ${quote(game.protocol)} { ${game.players.map(quote).join(" ")} }`,
    quote(`the game of protocol ${game.protocol}, horizon ${game.horizon}`),
    ""
  ]
  const perPlayer = new Map<number, number>()
  const counters = new Map<string, number>()
  let chanceSets = 0
  let outcomes = 0
  const numberOf = (infoset: InfoSet) => {
    let n = perPlayer.get(infoset.id)
    if (n === undefined) {
      n = (counters.get(infoset.player) ?? 0) + 1
      counters.set(infoset.player, n)
      perPlayer.set(infoset.id, n)
    }
    return n
  }
  const stack: Array<Node> = [game.root]
  while (stack.length > 0) {
    const node = stack.pop()!
    switch (node._tag) {
      case "Terminal":
        lines.push(
          `t "" ${++outcomes} ${quote(node.history.map((a) => a.name).join(" ") || "start")} { ${game.players.map((p) => num(node.payoffs[p] ?? 0)).join(" ")} }`
        )
        break
      case "Chance":
        lines.push(
          `c "" ${++chanceSets} ${quote(node.label)} { ${node.outcomes.map((o) => `${quote(o.action.name)} ${num(o.probability)}`).join(" ")} } 0`
        )
        for (let i = node.outcomes.length - 1; i >= 0; i--) stack.push(node.outcomes[i]!.node)
        break
      case "Decision":
        lines.push(
          `p "" ${game.players.indexOf(node.player) + 1} ${numberOf(node.infoset)} ${quote(describeInfoSet(node.infoset))} { ${node.moves.map((m) => quote(m.action.name)).join(" ")} } 0`
        )
        for (let i = node.moves.length - 1; i >= 0; i--) stack.push(node.moves[i]!.node)
        break
    }
  }
  return `${lines.join("\n")}\n`
}

/** `Buyer after price(3)`: the player and what it observed. */
export const describeInfoSet = (infoset: InfoSet): string =>
  `${infoset.player} after ${infoset.view.length === 0 ? "nothing" : infoset.view.map((a) => a.name).join(", ")}`

/**
 * The tree as indented text: each decision with its player and information set, each draw with its
 * probabilities, each end with its payoffs. Long trees are cut at `limit` lines (default 200).
 */
export const print = (game: Game, options: { readonly limit?: number } = {}): string => {
  const limit = options.limit ?? 200
  const lines: Array<string> = [
    `game ${game.protocol}: players ${game.players.join(", ")}${game.nature === undefined ? "" : `, nature ${game.nature}`}; ${game.size} nodes, ${game.infosets.length} information sets, horizon ${game.horizon}`
  ]
  const stack: Array<{ node: Node; depth: number; via: string }> = [{ node: game.root, depth: 0, via: "" }]
  while (stack.length > 0 && lines.length <= limit) {
    const { node, depth, via } = stack.pop()!
    const pad = "  ".repeat(depth) + via
    switch (node._tag) {
      case "Terminal":
        lines.push(
          `${pad}end${node.cut ? " (horizon)" : ""}: ${game.players.map((p) => `${p} ${num(node.payoffs[p] ?? 0)}`).join(", ")}`
        )
        break
      case "Chance":
        lines.push(`${pad}nature draws ${node.label}`)
        for (let i = node.outcomes.length - 1; i >= 0; i--) {
          const o = node.outcomes[i]!
          stack.push({ node: o.node, depth: depth + 1, via: `${o.action.name} [${num(o.probability)}] → ` })
        }
        break
      case "Decision":
        lines.push(
          `${pad}${node.player} chooses (information set ${node.infoset.id}: ${describeInfoSet(node.infoset)})`
        )
        for (let i = node.moves.length - 1; i >= 0; i--) {
          const m = node.moves[i]!
          stack.push({ node: m.node, depth: depth + 1, via: `${m.action.name} → ` })
        }
        break
    }
  }
  if (stack.length > 0) lines.push(`… (${game.size} nodes; the first ${limit} lines shown)`)
  return lines.join("\n")
}
