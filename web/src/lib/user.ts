import { z } from 'zod';
import type { Video } from './video';

// The signed-in person, as the server describes them. Shared: the auth
// feature fetches it, the routes use it to decide what to show.

export const userSchema = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string().nullable().default(null),
  isAdmin: z.boolean().default(false),
  createdAt: z.string().optional(),
});
export type User = z.infer<typeof userSchema>;

/** What register and login answer. The token is for scripts; the page relies on the HttpOnly cookie. */
export const authResultSchema = z.object({
  user: userSchema,
  token: z.string().optional(),
});

/** The name to show for a user: their name, else their email. */
export function displayName(user: User): string {
  return user.name?.trim() || user.email;
}

/**
 * Whether `user` may edit, delete or retry `video`: its owner or an admin.
 * A video without an owner comes from a server without accounts or one that
 * allows anonymous uploads, where anyone may change it; the server decides
 * in the end, this only hides controls that would fail.
 */
export function canManageVideo(user: User | null | undefined, video: Pick<Video, 'ownerId'>): boolean {
  if (video.ownerId === null) return true;
  return Boolean(user && (user.isAdmin || user.id === video.ownerId));
}
