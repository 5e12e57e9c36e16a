/**
 * Projection at the type level, computed lazily: one step at a time, when a program looks at it.
 *
 * It mirrors projection.ts: a list of steps is read as a global tree (a position is the steps left in a
 * list and what follows the list), which is projected on one role with nuScr's full merge. Every
 * continuation is a member of an interface (`Pos.node`, `Next.next`, `Merged.next`), and TypeScript works
 * out an interface's members only when they are used: an endpoint's type costs the same at the first step
 * of a protocol of 3,000 messages as of one of three, and the type checker's depth limit (TS2589) is
 * never reached by a protocol's length or depth. Where the type system cannot follow (a step list that
 * is not a tuple, a merge it cannot express) the result is `Dynamic`: untyped moves, still checked by the
 * run-time monitor.
 */
import type { Schema } from "effect"
import type { Choice, Continue, End as GlobalEnd, Include, Loop, Message, Parallel } from "../Choreography.ts"
import type { Branch, Dynamic, End, Rec, Receive, Send, Var } from "../LocalType.ts"

interface GMessage<F extends string, T extends string, L extends string, P extends Schema.Top, N> {
  readonly _tag: "GMessage"
  readonly from: F
  readonly to: T
  readonly label: L
  readonly payload: P
  readonly next: N
}
interface GChoice<At extends string, Bs> {
  readonly _tag: "GChoice"
  readonly at: At
  readonly branches: Bs
}
interface GRec<X extends string, Body> {
  readonly _tag: "GRec"
  readonly name: X
  readonly body: Body
}
interface GVar<X extends string> {
  readonly _tag: "GVar"
  readonly name: X
}
interface GEnd {
  readonly _tag: "GEnd"
}
/** Parts: a tuple of [roles of the part, position of the part followed by Next]. */
interface GParallel<Parts, Next> {
  readonly _tag: "GParallel"
  readonly parts: Parts
  readonly next: Next
}
interface GDynamic {
  readonly _tag: "GDynamic"
}

/** A position in a global protocol: the steps `S` left in a list, then `K` (the position after the list). */
export interface Pos<in out S, in out K> {
  /** The node at this position, worked out when looked at. */
  readonly node: NodeOf<S, K>
}

/** The position after everything: the end. */
interface Done {
  readonly node: GEnd
}

/** A position the type checker does not follow: untyped moves from here on (still checked at run time). */
interface Untyped {
  readonly node: GDynamic
}

type Twice<T extends ReadonlyArray<unknown>> = [...T, ...T]
type Steps1024 = Twice<Twice<Twice<Twice<Twice<Twice<Twice<Twice<Twice<Twice<[unknown]>>>>>>>>>>

/**
 * The position at the start of a list of steps. A list of more than {@link MAX_TYPED_STEPS} steps is not
 * followed: walking a list costs the type checker time quadratic in its length (about 4 s for 1,000
 * messages), so longer lists get untyped moves, still checked at run time.
 */
type Entry<S, K> = S extends readonly [...Steps1024, unknown, ...ReadonlyArray<unknown>] ? Untyped : Then<S, K>

/** The longest list of steps whose moves are typed statically (see `Entry`). */
export type MAX_TYPED_STEPS = 1024

type NodeOf<S, K> = S extends readonly [infer H, ...infer T]
  ? StepNode<H, Then<T, K>>
  : S extends readonly []
    ? K extends { readonly node: infer N }
      ? N
      : GEnd
    : GDynamic

/** The position of steps `T` followed by `K`: `K` itself when `T` is empty, so that ends of nested lists cost nothing. */
type Then<T, K> = T extends readonly [] ? K : Pos<T, K>

type StepNode<H, N> =
  H extends Message<infer F, infer T, infer L, infer P>
    ? GMessage<F, T, L, P, N>
    : H extends Choice<infer At, infer Bs>
      ? GChoice<At, { readonly [K in keyof Bs]: Entry<Bs[K], N> }>
      : H extends Loop<infer X, infer B>
        ? GRec<X, Entry<B, N>>
        : H extends Continue<infer X>
          ? GVar<X>
          : H extends GlobalEnd
            ? GEnd
            : H extends Parallel<infer Ps>
              ? GParallel<{ readonly [I in keyof Ps]: readonly [RolesOfSteps<Ps[I]>, Entry<Ps[I], N>] }, N>
              : H extends Include<string, infer B>
                ? Entry<B, N> extends { readonly node: infer G }
                  ? G
                  : GDynamic
                : GDynamic

/** The local type of role R in a protocol with steps S and families Fam. */
export type ProjectSteps<S, R extends string, Fam extends string = never> = Project<Entry<S, Done>, R, never, Fam>

/** Every role that occurs in a list of steps. */
export type RolesOfSteps<S> = S extends ReadonlyArray<infer X> ? RolesOfStep<X> : never

type RolesOfStep<X> =
  X extends Message<infer F, infer T>
    ? F | T
    : X extends Choice<infer At, infer Bs>
      ? At | RolesOfSteps<Bs[keyof Bs]>
      : X extends Loop<string, infer B>
        ? RolesOfSteps<B>
        : X extends Parallel<ReadonlyArray<infer Part>>
          ? RolesOfSteps<Part>
          : X extends Include<string, infer B>
            ? RolesOfSteps<B>
            : never

/**
 * The projection of position P on role R. U holds the loops entered since R last acted: a `continue`
 * to one of them is invisible to R and projects to `end` (as in nuScr). Steps R takes no part in are
 * skipped in tail position, so long stretches cost no depth.
 */
export type Project<P, R extends string, U extends string, Fam extends string> = P extends {
  readonly node: infer G
}
  ? ProjectNode<G, R, U, Fam>
  : Dynamic

type ProjectNode<G, R extends string, U extends string, Fam extends string> =
  G extends GMessage<infer F, infer T, infer L, infer P, infer N>
    ? R extends F
      ? Send<T, Next<L, P, N, R, Fam>>
      : R extends T
        ? // A single role receives a family's message from every member: their payloads, in member order.
          Receive<F, Next<L, [F] extends [Fam] ? Schema.$Array<P> : P, N, R, Fam>>
        : Project<N, R, U, Fam>
    : G extends GChoice<infer At, infer Bs>
      ? MergeAll<{ [K in keyof Bs]: Project<Bs[K], R, U, Fam> }[keyof Bs], R extends At ? true : false>
      : G extends GRec<infer X, infer B>
        ? MakeRec<X, Project<B, R, U | X, Fam>>
        : G extends GVar<infer X>
          ? X extends U
            ? End
            : Var<X>
          : G extends GEnd
            ? End
            : G extends GParallel<infer Parts, infer N>
              ? FindPart<Parts, R> extends readonly [string, infer Tree]
                ? Project<Tree, R, U, Fam>
                : Project<N, R, U, Fam>
              : Dynamic

/**
 * A branch of a send or receive whose continuation is projected when it is looked at. Its parameters are
 * invariant, declared so: TypeScript then compares two branches by their labels and positions, never by
 * working out (and comparing) everything that follows them.
 */
export interface Next<
  in out L extends string,
  in out P extends Schema.Top,
  in out N,
  in out R extends string,
  in out Fam extends string
> {
  readonly label: L
  readonly payload: P
  readonly next: Project<N, R, never, Fam>
}

type MakeRec<X extends string, B> = B extends End | Var<X> ? End : B extends Var ? B : Rec<X, B>

type FindPart<Parts, R> = Parts extends readonly [infer H, ...infer T]
  ? H extends readonly [infer Roles, unknown]
    ? R extends Roles
      ? H
      : FindPart<T, R>
    : never
  : never

type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never

type LabelOf<B> = B extends { readonly label: infer L } ? L : never

/**
 * Merges the projections of the branches of a choice (a union). Identical projections are one type
 * already. The chooser's sends (same peer) join into one internal choice; receives from one sender join
 * by label, merging the continuations of a shared label; sends of one and the same label merge what
 * follows; loops of one name merge their bodies. The run-time check has refused anything else, so what
 * remains is `Dynamic`.
 */
type MergeAll<T, IsChooser extends boolean> =
  true extends IsUnion<T>
    ? IsChooser extends true
      ? [T] extends [Send<infer Peer, infer B>]
        ? true extends IsUnion<Peer>
          ? Dynamic
          : Send<Peer, B>
        : Dynamic
      : [T] extends [Receive<infer Peer, infer B>]
        ? true extends IsUnion<Peer>
          ? Dynamic
          : Receive<Peer, MergeBranches<B>>
        : [T] extends [Send<infer Peer, infer B>]
          ? true extends IsUnion<Peer> | IsUnion<LabelOf<B>>
            ? Dynamic
            : Send<Peer, MergeBranches<B>>
          : [T] extends [Rec<infer X, infer B>]
            ? true extends IsUnion<X>
              ? Dynamic
              : Rec<X, MergeAll<B, false>>
            : Dynamic
    : T

type MergeBranches<B> =
  B extends Branch<infer L, infer P, unknown> ? Merged<L, P, Extract<B, { readonly label: L }>> : never

/** The branches of one label from several projections: their continuations merge when looked at. */
export interface Merged<in out L extends string, in out P extends Schema.Top, in out Bs> {
  readonly label: L
  readonly payload: P
  readonly next: MergeAll<NextOf<Bs>, false>
}

type NextOf<B> = B extends { readonly next: infer N } ? N : never

/** Marks a parameter list: the payload may be omitted when the schema accepts `undefined` (e.g. `Schema.Void`). */
export type PayloadArgs<P> = undefined extends P ? [payload?: P] : [payload: P]
