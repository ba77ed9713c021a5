import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { VideoStatus } from '@/lib/video';
import { StatusBadge } from './status-badge';

describe('StatusBadge', () => {
  it.each<[VideoStatus, string, RegExp]>([
    ['UPLOADING', 'Uploading', /sky/],
    ['UPLOADED', 'Queued', /slate/],
    ['PROCESSING', 'Processing', /amber/],
    ['READY', 'Ready', /emerald/],
    ['ERROR', 'Failed', /red/],
  ])('shows %s as “%s” in its colour', (status, label, colour) => {
    render(<StatusBadge status={status} />);
    const badge = screen.getByTestId('status-badge');
    expect(badge).toHaveTextContent(label);
    expect(badge).toHaveAttribute('data-status', status);
    expect(badge.className).toMatch(colour);
    expect(badge).toHaveAttribute('title');
  });

  it('shows the percentage while processing', () => {
    render(<StatusBadge status="PROCESSING" progress={42.7} />);
    expect(screen.getByTestId('status-badge')).toHaveTextContent('Processing 42%');
  });

  it('ignores progress for other statuses', () => {
    render(<StatusBadge status="READY" progress={100} />);
    expect(screen.getByTestId('status-badge')).toHaveTextContent(/^Ready$/);
  });
});
