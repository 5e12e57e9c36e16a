/**
 * What a node says when a message names an actor of a node it has no link to (a ref inside a message
 * decodes only to a live peer), and how to read it back: a session's coordinator turns it into
 * `SessionNodesApart`, naming both nodes.
 */

/** The decoding issue of a ref to an actor of `node`, which this node has no link to. */
export const notConnected = (node: string): string => `node ${node} is not connected`

/** The node a decoding issue says this node has no link to, if that is what it says. */
export const notConnectedNode = (issue: string): string | undefined => /node (\S+) is not connected/.exec(issue)?.[1]
