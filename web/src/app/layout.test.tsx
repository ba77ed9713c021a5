import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen } from '@testing-library/react';
import { createMemoryRouter, RouterProvider } from 'react-router-dom';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { alice, fail, mockApi, ok } from '@/test/mock-api';
import { Layout } from './layout';

function renderLayout() {
  const router = createMemoryRouter([{ element: <Layout />, children: [{ path: '/videos', element: <h1>Library</h1> }] }], {
    initialEntries: ['/videos'],
    future: { v7_relativeSplatPath: true },
  });
  render(
    <QueryClientProvider client={new QueryClient({ defaultOptions: { queries: { retry: false } } })}>
      <RouterProvider router={router} future={{ v7_startTransition: true }} />
    </QueryClientProvider>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe('Layout header', () => {
  it('shows who is signed in, a sign-out button and My videos', async () => {
    mockApi({ 'GET /api/auth/me': ok({ user: alice }) });
    renderLayout();
    expect(await screen.findByTestId('current-user')).toHaveTextContent('Alice');
    expect(screen.getByRole('link', { name: 'My videos' })).toHaveAttribute('href', '/mine');
    expect(screen.getByTestId('signout')).toBeInTheDocument();
  });

  it('offers sign-in and no My videos to a visitor', async () => {
    mockApi({ 'GET /api/auth/me': fail(401, 'unauthenticated', 'sign in') });
    renderLayout();
    expect(await screen.findByRole('link', { name: 'Sign in' })).toHaveAttribute('href', '/signin');
    expect(screen.queryByRole('link', { name: 'My videos' })).not.toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Library' })).toBeInTheDocument();
  });
});
