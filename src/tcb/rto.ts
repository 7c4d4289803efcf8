/**
 * Retransmission timeout estimation per RFC 6298 with exponential backoff.
 *
 * @module
 */

/** SRTT/RTTVAR estimator (RFC 6298 §2) with backoff (§5.5). */
export class RtoEstimator {
  srtt = 0;
  rttvar = 0;
  /** Base RTO before backoff, ms. */
  rto: number;
  /** Number of consecutive backoffs applied (RFC 6298 §5.5). */
  backoff = 0;
  #hasSample = false;
  #min: number;
  #max: number;

  constructor(initial: number, min: number, max: number) {
    this.rto = initial;
    this.#min = min;
    this.#max = max;
  }

  /** Back to no samples, as `new RtoEstimator(initial, min, max)` (a reused TCB). */
  reset(initial: number, min: number, max: number): void {
    this.srtt = 0;
    this.rttvar = 0;
    this.rto = initial;
    this.backoff = 0;
    this.#hasSample = false;
    this.#min = min;
    this.#max = max;
  }

  /** The timeout to arm now: RTO doubled once per backoff, capped at the maximum. */
  get current(): number {
    // The common case first: no backoff, no exponentiation.
    if (this.backoff === 0) return this.rto < this.#max ? this.rto : this.#max;
    return Math.min(this.rto * 2 ** Math.min(this.backoff, 30), this.#max);
  }

  /** Feeds one RTT measurement `r` in ms (RFC 6298 §2.2, §2.3; K = 4, G = 1 ms). */
  sample(r: number): void {
    if (r < 0) return;
    if (!this.#hasSample) {
      this.srtt = r;
      this.rttvar = r / 2;
      this.#hasSample = true;
    } else {
      this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - r);
      this.srtt = 0.875 * this.srtt + 0.125 * r;
    }
    this.rto = Math.min(Math.max(this.srtt + Math.max(1, 4 * this.rttvar), this.#min), this.#max);
  }
}
