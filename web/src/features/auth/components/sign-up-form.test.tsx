import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { alice, bodyOf, fail, mockApi, ok } from '@/test/mock-api';
import { SignUpForm } from './sign-up-form';

afterEach(() => vi.unstubAllGlobals());

function renderForm(onSignedUp = vi.fn()) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <SignUpForm onSignedUp={onSignedUp} />
    </QueryClientProvider>,
  );
  return { onSignedUp };
}

async function fill({ name = '', email, password }: { name?: string; email: string; password: string }) {
  const user = userEvent.setup();
  if (name) await user.type(screen.getByLabelText('Name (optional)'), name);
  await user.type(screen.getByLabelText('Email'), email);
  await user.type(screen.getByLabelText(/^Password/), password);
  await user.click(screen.getByTestId('signup-submit'));
}

describe('SignUpForm', () => {
  it('refuses a password under 8 characters before sending anything', async () => {
    const api = mockApi({});
    renderForm();
    await fill({ email: 'alice@example.com', password: 'seven77' });
    expect(screen.getByText('Use at least 8 characters.')).toBeInTheDocument();
    expect(screen.getByLabelText(/^Password/)).toHaveAttribute('aria-invalid', 'true');
    expect(api).not.toHaveBeenCalled();
  });

  it('sends a password of 8 characters, with the name, and reports the new user', async () => {
    const api = mockApi({ 'POST /api/auth/register': ok({ user: alice, token: 't' }, 201) });
    const { onSignedUp } = renderForm();
    await fill({ name: 'Alice', email: 'alice@example.com', password: 'eight888' });
    await waitFor(() => expect(onSignedUp).toHaveBeenCalled());
    expect(bodyOf(api, 'POST', '/api/auth/register')).toEqual({ email: 'alice@example.com', password: 'eight888', name: 'Alice' });
  });

  it('leaves out an empty name and shows the server’s refusal', async () => {
    const api = mockApi({ 'POST /api/auth/register': fail(409, 'registration_failed', 'could not register with these details') });
    renderForm();
    await fill({ email: 'taken@example.com', password: 'long enough' });
    expect(await screen.findByTestId('signup-error')).toHaveTextContent('Could not register with these details');
    expect(bodyOf(api, 'POST', '/api/auth/register')).toEqual({ email: 'taken@example.com', password: 'long enough' });
  });

  it('says plainly when registration is closed', async () => {
    mockApi({ 'POST /api/auth/register': fail(403, 'registration_closed', 'registration is closed') });
    renderForm();
    await fill({ email: 'new@example.com', password: 'long enough' });
    expect(await screen.findByTestId('signup-error')).toHaveTextContent('Registration is closed');
  });
});
