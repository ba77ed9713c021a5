import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { alice, bob, fail, mockApi, ok } from '@/test/mock-api';
import { AccountMenu } from './account-menu';

function renderMenu() {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <MemoryRouter future={{ v7_startTransition: true, v7_relativeSplatPath: true }}>
        <AccountMenu />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe('AccountMenu', () => {
  it('offers to sign in when there is no session (401 is not an error)', async () => {
    mockApi({ 'GET /api/auth/me': fail(401, 'unauthenticated', 'sign in') });
    renderMenu();
    expect(await screen.findByTestId('signin-link')).toHaveAttribute('href', '/signin');
    expect(screen.queryByRole('alert')).not.toBeInTheDocument();
  });

  it('shows the name, or the email when there is none', async () => {
    mockApi({ 'GET /api/auth/me': ok({ user: bob }) });
    renderMenu();
    expect(await screen.findByTestId('current-user')).toHaveTextContent('bob@example.com');
  });

  it('signs out and then offers to sign in', async () => {
    let signedIn = true;
    const api = mockApi({
      'GET /api/auth/me': () => (signedIn ? ok({ user: alice }) : fail(401, 'unauthenticated', 'sign in')),
      'POST /api/auth/logout': () => {
        signedIn = false;
        return ok(null);
      },
    });
    renderMenu();
    expect(await screen.findByTestId('current-user')).toHaveTextContent('Alice');
    await userEvent.setup().click(screen.getByTestId('signout'));
    expect(await screen.findByTestId('signin-link')).toBeInTheDocument();
    expect(api).toHaveBeenCalledWith('/api/auth/logout', expect.objectContaining({ method: 'POST' }));
  });
});
