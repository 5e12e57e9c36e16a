/**
 * A protocol of a reference tool's test suite (nuScr's or Scribble's), translated into our language, with
 * that tool's verdict and, where its suite gives one, its projections (written in our notation).
 */
import type { Choreography } from "@troupe/runtime"
import { Schema } from "effect"

export interface ReferenceCase {
  /** The file in the reference repository (and the protocol, when the file has several). */
  readonly source: string
  /** What the reference tool answers: the protocol is well-formed, or refused. */
  readonly verdict: "accept" | "refuse"
  readonly roles: ReadonlyArray<string>
  readonly steps: ($: Choreography.Builder<string>) => Choreography.Steps
  /** The protocol's name, where it shows (the loop a recursive protocol unfolds into is named after it). */
  readonly name?: string
  /** The reference's projections, where its suite gives them, in our notation (`LocalType.print`). */
  readonly projections?: Readonly<Record<string, string>>
  /** For a refusal: the problem we name (our code). */
  readonly problem?: Choreography.Problem["code"] | undefined
  /**
   * Where we answer otherwise: a refusal of what the reference accepts (conservative), with why refusing is
   * sound and what the reference does that we do not; or, only where the two references disagree, an
   * acceptance of what Scribble refuses that nuScr's merge accepts (`problem` absent, `nuscr` saying where
   * nuScr accepts the shape: issue 12's finding 1 asks for nuScr's merge).
   */
  readonly disagreement?:
    | { readonly problem: Choreography.Problem["code"]; readonly why: string }
    | { readonly nuscr: string; readonly why: string }
}

export const V = Schema.Void
export const Int = Schema.Number
export const Str = Schema.String
