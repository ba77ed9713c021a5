import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen, waitFor } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { videoSchema } from '@/lib/video';
import { bodyOf, mockApi, ok } from '@/test/mock-api';
import { EditVideoDialog } from './edit-video-dialog';

const raw = { id: 'v1', title: 'Clip', description: 'About it', status: 'READY', createdAt: 'x', updatedAt: 'x', ownerId: 'a1', visibility: 'unlisted' };

afterEach(() => vi.unstubAllGlobals());

describe('EditVideoDialog', () => {
  it('starts from the video’s visibility and sends the new one with the details', async () => {
    const api = mockApi({ 'PUT /api/videos/v1': ok({ ...raw, visibility: 'private' }) });
    const onClose = vi.fn();
    render(
      <QueryClientProvider client={new QueryClient()}>
        <EditVideoDialog video={videoSchema.parse(raw)} open onClose={onClose} />
      </QueryClientProvider>,
    );
    expect(screen.getByRole('radio', { name: /Unlisted/ })).toBeChecked();
    const user = userEvent.setup();
    await user.click(screen.getByRole('radio', { name: /Private/ }));
    await user.click(screen.getByTestId('save-edit'));
    await waitFor(() => expect(onClose).toHaveBeenCalled());
    expect(bodyOf(api, 'PUT', '/api/videos/v1')).toEqual({ title: 'Clip', description: 'About it', visibility: 'private' });
  });
});
