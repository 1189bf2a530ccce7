import { Hono } from 'hono';
import * as v from 'valibot';
import { AppError, ErrorCode, describeError } from '../core/errors.js';
import { tryParseImageRef } from '../core/image-ref.js';
import type { AppEnv } from './context.js';
import { boolParam, ok, parseQuery } from './envelope.js';

const IMAGE_ID = /^(sha256:)?[a-f0-9]{12,64}$/;

const DeleteQuery = v.strictObject({
  id: v.optional(v.pipe(v.string(), v.regex(IMAGE_ID, 'expected an image ID (sha256:… or 12–64 hex characters)'))),
  ref: v.optional(v.pipe(v.string(), v.check((s) => tryParseImageRef(s) !== null, 'expected an image reference such as nginx:1.25'))),
  force: v.optional(boolParam),
  prune: v.optional(v.picklist(['dangling'], 'expected "dangling"')),
});

export const images = new Hono<AppEnv>()
  /** GET /api/images: every image with tags, digests, size, platform and the containers using it. */
  .get('/api/images', async (c) => {
    const list = await c.get('deps').inventory.images();
    return ok(c, { images: list, total: list.length });
  })
  /**
   * DELETE /api/images?id=|ref=[&force=true]: removes one image; one in use by a container is
   * refused unless forced. DELETE /api/images?prune=dangling removes untagged images no
   * container uses.
   */
  .delete('/api/images', async (c) => {
    const q = parseQuery(DeleteQuery, c.req.query());
    const { inventory, docker } = c.get('deps');
    const all = await inventory.images();
    if (q.prune) {
      if (q.id || q.ref) throw new AppError(ErrorCode.BadRequest, 'prune=dangling takes no id or ref');
      const removed: string[] = [];
      const failed: { id: string; error: string }[] = [];
      for (const img of all.filter((i) => i.repoTags.length === 0 && i.containers.length === 0)) {
        await docker.removeImage(img.id).then(
          () => removed.push(img.id),
          (err: unknown) => failed.push({ id: img.id, error: describeError(err) }),
        );
      }
      return ok(c, { removed, failed });
    }
    const target = q.id ?? q.ref;
    if (!target || (q.id && q.ref)) throw new AppError(ErrorCode.ImageRequired, 'name one image: id=<image ID> or ref=<reference>, or prune=dangling');
    const details = await docker.inspectImage(target);
    if (!details) throw new AppError(ErrorCode.NotFound, `no image ${target}`);
    const users = all.find((i) => i.id === details.id)?.containers ?? [];
    if (users.length > 0 && !q.force) {
      throw new AppError(ErrorCode.Conflict, `image ${target} is used by ${users.map((u) => u.name).join(', ')}: remove them first or pass force=true`, { containers: users });
    }
    await docker.removeImage(q.ref && !q.id && details.repoTags.length > 1 ? q.ref : details.id, { force: q.force ?? false });
    return ok(c, { id: details.id, removed: target });
  });
