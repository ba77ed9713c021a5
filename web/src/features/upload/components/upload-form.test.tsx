import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { UploadForm } from './upload-form';

const mp4Header = new Uint8Array([0, 0, 0, 0x20, ...[...'ftypisom'].map((c) => c.charCodeAt(0)), 0, 0, 2, 0]);

function renderForm() {
  const qc = new QueryClient();
  return render(
    <QueryClientProvider client={qc}>
      <UploadForm onUploaded={() => undefined} />
    </QueryClientProvider>,
  );
}

let fetchSpy: ReturnType<typeof vi.fn>;
let xhrOpen: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  fetchSpy = vi.fn();
  vi.stubGlobal('fetch', fetchSpy);
  xhrOpen = vi.spyOn(XMLHttpRequest.prototype, 'open');
});
afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('UploadForm', () => {
  it('refuses a file that is not a video before any request', async () => {
    const user = userEvent.setup({ applyAccept: false });
    renderForm();
    await user.upload(screen.getByTestId('upload-input'), new File(['plain text, honestly'], 'trick.mp4', { type: 'video/mp4' }));
    expect(await screen.findByTestId('file-error')).toHaveTextContent(/trick\.mp4.*not a video/);
    expect(screen.getByTestId('upload-submit')).toBeDisabled();
    expect(fetchSpy).not.toHaveBeenCalled();
    expect(xhrOpen).not.toHaveBeenCalled();
  });

  it('takes a video, names it after the file and enables the upload', async () => {
    const user = userEvent.setup();
    renderForm();
    await user.upload(screen.getByLabelText('Video file'), new File([mp4Header, new Uint8Array(2048)], 'summer_trip-2026.mp4', { type: 'video/mp4' }));
    expect(await screen.findByTestId('selected-file')).toHaveTextContent('summer_trip-2026.mp4 (MP4, 2.0 KB)');
    expect(screen.getByLabelText('Title')).toHaveValue('summer trip 2026');
    expect(screen.getByTestId('upload-submit')).toBeEnabled();
    expect(screen.queryByTestId('file-error')).not.toBeInTheDocument();
    expect(fetchSpy).not.toHaveBeenCalled();
  });

  it('defaults to Public and sends the visibility chosen in the presign request', async () => {
    fetchSpy.mockImplementation(async () =>
      new Response(JSON.stringify({ error: { code: 'unauthenticated', message: 'sign in first' } }), { status: 401 }),
    );
    const user = userEvent.setup();
    renderForm();
    expect(screen.getByRole('radio', { name: /Public/ })).toBeChecked();
    expect(screen.getByText(/anyone with the link can watch it/)).toBeInTheDocument();
    await user.upload(screen.getByLabelText('Video file'), new File([mp4Header, new Uint8Array(2048)], 'secret.mp4', { type: 'video/mp4' }));
    await screen.findByTestId('selected-file');
    await user.click(screen.getByRole('radio', { name: /Private/ }));
    await user.click(screen.getByTestId('upload-submit'));

    expect(await screen.findByTestId('upload-error')).toHaveTextContent('You need to sign in to do that.');
    expect(fetchSpy).toHaveBeenCalledTimes(1);
    const [url, init] = fetchSpy.mock.calls[0] as [string, RequestInit];
    expect(url).toBe('/api/upload/generate-presigned-url');
    expect(JSON.parse(String(init.body))).toMatchObject({ fileName: 'secret.mp4', title: 'secret', visibility: 'private' });
    expect(xhrOpen).not.toHaveBeenCalled();
  });

  it('opens the file picker from the keyboard', async () => {
    const user = userEvent.setup();
    renderForm();
    const input = screen.getByTestId('upload-input') as HTMLInputElement;
    const click = vi.spyOn(input, 'click');
    screen.getByTestId('drop-zone').focus();
    await user.keyboard('{Enter}');
    expect(click).toHaveBeenCalled();
  });
});
