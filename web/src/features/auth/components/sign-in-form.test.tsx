import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { authKeys } from '@/lib/query-keys';
import { alice, bodyOf, fail, mockApi, ok } from '@/test/mock-api';
import { SignInForm } from './sign-in-form';

afterEach(() => vi.unstubAllGlobals());

function renderForm(onSignedIn = vi.fn()) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <SignInForm onSignedIn={onSignedIn} />
    </QueryClientProvider>,
  );
  return { qc, onSignedIn };
}

async function fill(email: string, password: string) {
  const user = userEvent.setup();
  await user.type(screen.getByLabelText('Email'), email);
  await user.type(screen.getByLabelText('Password'), password);
  await user.click(screen.getByTestId('signin-submit'));
}

describe('SignInForm', () => {
  it('sends the credentials and shows the server’s generic answer as it is', async () => {
    const api = mockApi({ 'POST /api/auth/login': fail(401, 'invalid_credentials', 'invalid email or password') });
    const { onSignedIn } = renderForm();
    await fill('alice@example.com', 'wrong password');
    expect(await screen.findByTestId('signin-error')).toHaveTextContent(/^Could not sign inInvalid email or password$/);
    expect(bodyOf(api, 'POST', '/api/auth/login')).toEqual({ email: 'alice@example.com', password: 'wrong password' });
    // The session is a cookie: the request must be allowed to carry it.
    expect(api.mock.calls[0][1]).toMatchObject({ credentials: 'same-origin' });
    expect(onSignedIn).not.toHaveBeenCalled();
  });

  it('shows a rate-limit answer in words', async () => {
    mockApi({ 'POST /api/auth/login': fail(429, 'rate_limited', 'too many requests') });
    renderForm();
    await fill('alice@example.com', 'whatever1');
    expect(await screen.findByTestId('signin-error')).toHaveTextContent(/Too many requests in a short time/);
  });

  it('records the user and reports success, keeping no token in storage', async () => {
    mockApi({ 'POST /api/auth/login': ok({ user: alice, token: 'sid.secret' }) });
    const setItem = vi.spyOn(Storage.prototype, 'setItem');
    const { qc, onSignedIn } = renderForm();
    await fill('alice@example.com', 'correct horse');
    await waitFor(() => expect(onSignedIn).toHaveBeenCalledWith(expect.objectContaining({ id: alice.id })));
    expect(qc.getQueryData(authKeys.me())).toMatchObject({ email: 'alice@example.com' });
    expect(setItem).not.toHaveBeenCalled();
    setItem.mockRestore();
  });

  it('asks for both fields before sending anything', async () => {
    const api = mockApi({});
    renderForm();
    await userEvent.setup().click(screen.getByTestId('signin-submit'));
    expect(screen.getByText('Enter your email address.')).toBeInTheDocument();
    expect(screen.getByText('Enter your password.')).toBeInTheDocument();
    expect(api).not.toHaveBeenCalled();
  });
});
