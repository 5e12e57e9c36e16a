/** A cell's status: what it handles now (see `ActorCell.status`). */

/** Handled messages: a cell accepts user messages and control messages. */
export const RUNNING = 0
/** Failed, waiting for its parent's decision: handles control messages only. */
export const SUSPENDED = 1
/** Its parent is restarting or stopping it: handles nothing. */
export const FROZEN = 2
/** Stopped for good: messages to it are dead letters. */
export const TERMINATED_STATUS = 3
