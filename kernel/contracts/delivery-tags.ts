/**
 * Durable delivery tags and who may settle them, shared by routers.
 *
 * A tag is the only handle on an in-flight delivery, so it must not be guessable (an ack, nack or
 * in-progress for another receiver's delivery would steal or drop its message): routers end every
 * tag with `TagSecrets.next()`, 128 random bits. And a tag alone is not enough: `mayAcknowledge`
 * accepts a settlement only from the identity the delivery was made to (and, when the ack names
 * an agent and the delivery went to an agent's inbox, from that agent). A refused settlement is
 * reported as `unknown`, exactly like a tag that never existed, so it reveals nothing.
 */
import { randomFillSync } from 'node:crypto';
import type { CallerContext } from './message';

const SECRET_BYTES = 16;
/** Random bytes drawn at once: one system call per 256 tags instead of one per tag. */
const POOL_BYTES = SECRET_BYTES * 256;

/** Unguessable tag suffixes (base64url, 22 characters). One per router: no shared state. */
export class TagSecrets {
  private readonly pool = Buffer.allocUnsafe(POOL_BYTES);
  private offset = POOL_BYTES;

  next(): string {
    if (this.offset + SECRET_BYTES > POOL_BYTES) {
      randomFillSync(this.pool);
      this.offset = 0;
    }
    const secret = this.pool.toString('base64url', this.offset, this.offset + SECRET_BYTES);
    this.offset += SECRET_BYTES;
    return secret;
  }
}

/**
 * Whether `caller` may ack / nack / extend a delivery made to the session opened by `receiver`:
 * the same identity (both without one counts as the same: routers used in-process), and the same
 * agent when both name one.
 */
export function mayAcknowledge(receiver: CallerContext, caller: CallerContext): boolean {
  if (receiver.identity?.id !== caller.identity?.id) return false;
  if (receiver.agentId && caller.agentId && receiver.agentId !== caller.agentId) return false;
  return true;
}
