// Where to go after signing in: the `next` query parameter, accepted only as
// a path on this site. Anything else (another origin, a scheme, a
// protocol-relative `//host`, `/\host` which browsers read as `//host`, or
// control characters that browsers strip) falls back, so a crafted sign-in
// link cannot send a person to another site.

const AUTH_PAGES = ['/signin', '/signup'];

export function safeNextPath(raw: string | null | undefined, fallback = '/'): string {
  if (!raw || raw[0] !== '/') return fallback;
  if (raw[1] === '/' || raw[1] === '\\') return fallback;
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f\\]/.test(raw)) return fallback;
  try {
    const base = 'https://visionsync.invalid';
    const url = new URL(raw, base);
    if (url.origin !== base) return fallback;
    if (AUTH_PAGES.includes(url.pathname)) return fallback;
  } catch {
    return fallback;
  }
  return raw;
}

/** The sign-in (or sign-up) address that comes back to `next` afterwards. */
export function authPath(page: 'signin' | 'signup', next: string | null | undefined): string {
  const safe = safeNextPath(next, '');
  return safe && safe !== '/' ? `/${page}?next=${encodeURIComponent(safe)}` : `/${page}`;
}
