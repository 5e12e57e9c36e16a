/**
 * Whether the nodes of a session can reach each other. A participant decodes the refs of its peers
 * when it joins; a peer on a node its own node has no link to cannot be decoded, and the join fails.
 * The coordinator turns that failure into `SessionNodesApart`, naming both nodes, so the session
 * fails at once instead of waiting on messages that could never arrive.
 */
import { notConnectedNode } from "../../internal/links.ts"
import { SessionNodesApart } from "./sessionErrors.ts"

/** The failure of `role`'s join as `SessionNodesApart`, when its node has no link to a peer's node. */
export const nodesApart = (
  protocol: string,
  session: string,
  roles: Readonly<Record<string, { readonly node: string }>>,
  role: string,
  error: unknown
): SessionNodesApart | undefined => {
  if (typeof error !== "object" || error === null || (error as { _tag?: unknown })._tag !== "InvalidMessage") {
    return undefined
  }
  const peerNode = notConnectedNode(String((error as { issue?: unknown }).issue))
  const peerRole = Object.keys(roles).find((other) => other !== role && roles[other]!.node === peerNode)
  if (peerNode === undefined || peerRole === undefined) return undefined
  return new SessionNodesApart({ protocol, session, role, node: roles[role]!.node, peerRole, peerNode })
}
