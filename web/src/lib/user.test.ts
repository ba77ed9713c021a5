import { describe, expect, it } from 'vitest';
import { canManageVideo, displayName, userSchema } from './user';
import { videoSchema } from './video';

const alice = userSchema.parse({ id: 'a1', email: 'alice@example.com', name: 'Alice', isAdmin: false });
const admin = userSchema.parse({ id: 'z9', email: 'root@example.com', isAdmin: true });

describe('canManageVideo', () => {
  it('is the owner’s or an admin’s', () => {
    expect(canManageVideo(alice, { ownerId: 'a1' })).toBe(true);
    expect(canManageVideo(admin, { ownerId: 'a1' })).toBe(true);
    expect(canManageVideo(userSchema.parse({ id: 'b2', email: 'b@example.com' }), { ownerId: 'a1' })).toBe(false);
    expect(canManageVideo(null, { ownerId: 'a1' })).toBe(false);
  });
  it('leaves an ownerless video (anonymous uploads, or a server without accounts) to everyone', () => {
    expect(canManageVideo(null, { ownerId: null })).toBe(true);
  });
});

describe('schemas', () => {
  it('reads a video from a server without accounts as public and ownerless', () => {
    const v = videoSchema.parse({ id: 'v', title: 'T', status: 'READY', createdAt: 'x', updatedAt: 'x' });
    expect(v).toMatchObject({ ownerId: null, visibility: 'public' });
  });
  it('names a user by name, else email', () => {
    expect(displayName(alice)).toBe('Alice');
    expect(displayName(admin)).toBe('root@example.com');
  });
});
