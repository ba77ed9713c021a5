import { describe, expect, it } from 'vitest';
import { authPath, safeNextPath } from './next-path';

describe('safeNextPath', () => {
  it.each(['/mine', '/videos/abc?x=1#t', '/', '/videos?q=a%2F%2Fb'])('accepts the same-site path %s', (p) => {
    expect(safeNextPath(p)).toBe(p);
  });

  it.each([
    ['a protocol-relative URL', '//evil.example'],
    ['an absolute URL', 'https://evil.example'],
    ['a backslash browsers read as a slash', '/\\evil'],
    ['a backslash later on', '/videos\\..\\\\evil'],
    ['a javascript: URL', 'javascript:alert(1)'],
    ['a tab browsers strip', '/\t/evil.example'],
    ['a newline', '/\n/evil.example'],
    ['a relative path', 'mine'],
    ['nothing', ''],
    ['a missing value', null],
    ['the sign-in page itself', '/signin?next=/mine'],
  ])('rejects %s', (_what, p) => {
    expect(safeNextPath(p)).toBe('/');
    expect(safeNextPath(p, '/videos')).toBe('/videos');
  });
});

describe('authPath', () => {
  it('carries a safe next along and drops an unsafe one', () => {
    expect(authPath('signin', '/mine')).toBe('/signin?next=%2Fmine');
    expect(authPath('signup', '//evil.example')).toBe('/signup');
    expect(authPath('signin', '/')).toBe('/signin');
  });
});
