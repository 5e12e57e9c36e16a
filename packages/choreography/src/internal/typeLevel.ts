/**
 * Projection at the type level. It mirrors internal/projection.ts: steps become a global tree
 * (ToTree, continuations attached), which is projected on one role with nuScr's full merge.
 * Where the type system cannot follow (non-tuple step lists, merges the run-time check refuses
 * anyway), the result is `Dynamic`: untyped moves, still checked by the run-time monitor.
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
/** Parts: a tuple of [roles of the part, tree of the part followed by Next]. */
interface GParallel<Parts, Next> {
  readonly _tag: "GParallel"
  readonly parts: Parts
  readonly next: Next
}
interface GDynamic {
  readonly _tag: "GDynamic"
}

/** The local type of role R in a protocol with steps S. */
export type ProjectSteps<S, R extends string> = Project<ToTree<S, GEnd>, R, never>

/** The global tree of a list of steps followed by the tree K. */
export type ToTree<S, K> = S extends readonly [infer H, ...infer T]
  ? StepTree<H, ToTree<T, K>>
  : S extends readonly []
    ? K
    : GDynamic

type StepTree<H, N> =
  H extends Message<infer F, infer T, infer L, infer P>
    ? GMessage<F, T, L, P, N>
    : H extends Choice<infer At, infer Bs>
      ? GChoice<At, { readonly [K in keyof Bs]: ToTree<Bs[K], N> }>
      : H extends Loop<infer X, infer B>
        ? GRec<X, ToTree<B, N>>
        : H extends Continue<infer X>
          ? GVar<X>
          : H extends GlobalEnd
            ? GEnd
            : H extends Parallel<infer Ps>
              ? GParallel<{ readonly [I in keyof Ps]: readonly [RolesOfSteps<Ps[I]>, ToTree<Ps[I], N>] }, N>
              : H extends Include<string, infer B>
                ? ToTree<B, N>
                : GDynamic

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
 * The projection of tree G on role R. U holds the loops entered since R last acted: a `continue`
 * to one of them is invisible to R and projects to `end` (as in nuScr).
 */
export type Project<G, R extends string, U extends string> =
  G extends GMessage<infer F, infer T, infer L, infer P, infer N>
    ? R extends F
      ? Send<T, Branch<L, P, Project<N, R, never>>>
      : R extends T
        ? Receive<F, Branch<L, P, Project<N, R, never>>>
        : Project<N, R, U>
    : G extends GChoice<infer At, infer Bs>
      ? MergeAll<{ [K in keyof Bs]: Project<Bs[K], R, U> }[keyof Bs], R extends At ? true : false>
      : G extends GRec<infer X, infer B>
        ? MakeRec<X, Project<B, R, U | X>>
        : G extends GVar<infer X>
          ? X extends U
            ? End
            : Var<X>
          : G extends GEnd
            ? End
            : G extends GParallel<infer Parts, infer N>
              ? FindPart<Parts, R> extends readonly [string, infer Tree]
                ? Project<Tree, R, U>
                : Project<N, R, U>
              : Dynamic

type MakeRec<X extends string, B> = B extends End | Var<X> ? End : B extends Var ? B : Rec<X, B>

type FindPart<Parts, R> = Parts extends readonly [infer H, ...infer T]
  ? H extends readonly [infer Roles, unknown]
    ? R extends Roles
      ? H
      : FindPart<T, R>
    : never
  : never

type IsUnion<T, U = T> = T extends unknown ? ([U] extends [T] ? false : true) : never

/**
 * Merges the projections of the branches of a choice (a union). Identical projections are one type
 * already. The chooser's sends (same peer) join into one internal choice; receives from one sender
 * join by label, merging the continuations of a shared label.
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
          : Receive<Peer, MergeBranches<B, B>>
        : Dynamic
    : T

type MergeBranches<B, All> =
  B extends Branch<infer L, infer P, unknown>
    ? Branch<L, P, MergeAll<NextOf<Extract<All, { readonly label: L }>>, false>>
    : never

type NextOf<B> = B extends { readonly next: infer N } ? N : never

/** Marks a parameter list: the payload may be omitted when the schema accepts `undefined` (e.g. `Schema.Void`). */
export type PayloadArgs<P> = undefined extends P ? [payload?: P] : [payload: P]
