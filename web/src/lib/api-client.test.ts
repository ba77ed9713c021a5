import { afterEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { ApiError, apiClient, errorFromResponse } from './api-client';

afterEach(() => vi.unstubAllGlobals());

const respond = (status: number, body: unknown) =>
  vi.stubGlobal('fetch', vi.fn(async () => new Response(JSON.stringify(body), { status })));

describe('api client', () => {
  it('unwraps and validates the data envelope', async () => {
    respond(200, { data: { total: 3, byStatus: {} }, message: 'ok' });
    await expect(apiClient.get('/api/x', z.object({ total: z.number() }))).resolves.toEqual({ total: 3 });
    expect(fetch).toHaveBeenCalledWith('/api/x', expect.objectContaining({ method: 'GET' }));
  });

  it('lets the session cookie go with same-origin requests only', async () => {
    respond(200, { data: {} });
    await apiClient.post('/api/auth/logout', z.unknown());
    expect(fetch).toHaveBeenCalledWith('/api/auth/logout', expect.objectContaining({ method: 'POST', credentials: 'same-origin' }));
  });

  it('builds same-origin URLs with the query', async () => {
    respond(200, { data: [] });
    await apiClient.get('/api/notifications', z.array(z.unknown()), { videoId: 'v1', limit: 5, cursor: null });
    expect(fetch).toHaveBeenCalledWith('/api/notifications?videoId=v1&limit=5', expect.anything());
  });

  it('turns the error envelope into an ApiError a person can read', async () => {
    respond(404, { error: { code: 'not_found', message: 'video not found' } });
    const err = (await apiClient.get('/api/videos/x', z.unknown()).catch((e: unknown) => e)) as ApiError;
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toMatchObject({ status: 404, code: 'not_found', isClientError: true });
    expect(err.message).toMatch(/does not exist/);
  });

  it('explains rate limits and server failures', () => {
    expect(errorFromResponse(429, '{"error":{"code":"rate_limited","message":"slow down"}}').message).toMatch(/Too many requests/);
    expect(errorFromResponse(503, 'Service Unavailable').message).toMatch(/server had a problem/);
  });

  it('keeps the size limit in a too-large message', () => {
    const e = errorFromResponse(413, '{"error":{"code":"file_too_large","message":"files up to 100 bytes are accepted"}}');
    expect(e.message).toBe('This file is too large: files up to 100 bytes are accepted.');
  });

  it('shows account answers as the server words them, not as upload-link trouble', () => {
    expect(errorFromResponse(401, '{"error":{"code":"invalid_credentials","message":"invalid email or password"}}').message).toBe(
      'Invalid email or password',
    );
    expect(errorFromResponse(403, '{"error":{"code":"registration_closed","message":"registration is closed"}}').message).toBe(
      'Registration is closed',
    );
    expect(errorFromResponse(401, '{"error":{"code":"unauthenticated","message":"authentication required"}}').message).toMatch(/sign in/);
    expect(errorFromResponse(403, '{"error":{"code":"csrf_rejected","message":"bad origin"}}').message).toMatch(/Reload the page/);
  });

  it('reports a network failure plainly', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    await expect(apiClient.get('/api/x', z.unknown())).rejects.toMatchObject({ code: 'network' });
  });

  it('refuses an answer of the wrong shape', async () => {
    respond(200, { data: { total: 'three' } });
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
    await expect(apiClient.get('/api/x', z.object({ total: z.number() }))).rejects.toMatchObject({ code: 'bad_response' });
  });
});
