import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { createMemoryRouter, RouterProvider, useLocation } from 'react-router-dom';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RequireAuth } from '@/features/auth';
import { alice, fail, mockApi, ok } from '@/test/mock-api';
import { SignInRoute } from './sign-in';
import { SignUpRoute } from './sign-up';

function Where() {
  const l = useLocation();
  return <p data-testid="where">{`${l.pathname}${l.search}`}</p>;
}

function renderAt(path: string) {
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  const router = createMemoryRouter(
    [
      { path: '/', element: <Where /> },
      { path: '/signin', element: <><Where /><SignInRoute /></> },
      { path: '/signup', element: <><Where /><SignUpRoute /></> },
      { path: '/mine', element: <RequireAuth><Where /></RequireAuth> },
    ],
    { initialEntries: [path], future: { v7_relativeSplatPath: true } },
  );
  render(
    <QueryClientProvider client={qc}>
      <RouterProvider router={router} future={{ v7_startTransition: true }} />
    </QueryClientProvider>,
  );
}

function signedOutUntilLogin() {
  let signedIn = false;
  return mockApi({
    'GET /api/auth/me': () => (signedIn ? ok({ user: alice }) : fail(401, 'unauthenticated', 'sign in')),
    'POST /api/auth/login': () => {
      signedIn = true;
      return ok({ user: alice, token: 't' });
    },
  });
}

async function signIn() {
  const user = userEvent.setup();
  await user.type(await screen.findByLabelText('Email'), 'alice@example.com');
  await user.type(screen.getByLabelText('Password'), 'correct horse');
  await user.click(screen.getByTestId('signin-submit'));
}

afterEach(() => vi.unstubAllGlobals());

describe('sign-in round trip', () => {
  it('sends a signed-out visitor of /mine to sign in, and back to /mine afterwards', async () => {
    signedOutUntilLogin();
    renderAt('/mine');
    expect(await screen.findByTestId('where')).toHaveTextContent('/signin?next=%2Fmine');
    expect(screen.getByTestId('to-signup')).toHaveAttribute('href', '/signup?next=%2Fmine');
    await signIn();
    await waitFor(() => expect(screen.getByTestId('where')).toHaveTextContent(/^\/mine$/));
  });

  it.each(['//evil.example', 'https://evil.example', '/\\evil'])('ignores next=%s and goes home', async (next) => {
    signedOutUntilLogin();
    renderAt(`/signin?next=${encodeURIComponent(next)}`);
    expect(screen.queryByTestId('to-signup')).not.toBeInTheDocument();
    expect(await screen.findByTestId('to-signup')).toHaveAttribute('href', '/signup');
    await signIn();
    await waitFor(() => expect(screen.getByTestId('where')).toHaveTextContent(/^\/$/));
  });

  it('links sign-up back to sign-in with the same next', async () => {
    signedOutUntilLogin();
    renderAt('/signup?next=%2Fvideos%2Fabc');
    expect(await screen.findByTestId('to-signin')).toHaveAttribute('href', '/signin?next=%2Fvideos%2Fabc');
  });

  it('lets a signed-in visitor of /mine straight through', async () => {
    mockApi({ 'GET /api/auth/me': ok({ user: alice }) });
    renderAt('/mine');
    await waitFor(() => expect(screen.getByTestId('where')).toHaveTextContent(/^\/mine$/));
  });
});
