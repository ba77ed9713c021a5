import { render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { QualityPicker } from './quality-picker';

const rungs = [
  { value: '3', label: '1080p' },
  { value: '2', label: '720p' },
  { value: '1', label: '480p' },
  { value: '0', label: '360p' },
];

describe('QualityPicker', () => {
  it('lists Auto and every rung, highest first, under an accessible name', () => {
    render(<QualityPicker options={rungs} value="auto" onChange={() => undefined} />);
    const picker = screen.getByRole('combobox', { name: 'Quality' });
    const labels = [...picker.querySelectorAll('option')].map((o) => o.textContent);
    expect(labels).toEqual(['Auto', '1080p', '720p', '480p', '360p']);
    expect(picker).toHaveValue('auto');
  });

  it('shows what Auto is playing', () => {
    render(<QualityPicker options={rungs} value="auto" renderedLabel="720p" onChange={() => undefined} />);
    expect(screen.getByRole('option', { name: 'Auto (720p)' })).toBeInTheDocument();
  });

  it('calls back with the rung picked, from the keyboard too', async () => {
    const onChange = vi.fn();
    const user = userEvent.setup();
    render(<QualityPicker options={rungs} value="auto" onChange={onChange} />);
    await user.selectOptions(screen.getByTestId('quality-picker'), '360p');
    expect(onChange).toHaveBeenLastCalledWith('0');
    await user.selectOptions(screen.getByTestId('quality-picker'), 'Auto');
    expect(onChange).toHaveBeenLastCalledWith('auto');
  });

  it('reflects the selected rung', () => {
    render(<QualityPicker options={rungs} value="2" renderedLabel="720p" onChange={() => undefined} />);
    expect(screen.getByTestId('quality-picker')).toHaveValue('2');
    expect(screen.getByRole('option', { name: 'Auto' })).toBeInTheDocument();
  });

  it('is disabled until the levels are known', () => {
    render(<QualityPicker options={[]} value="auto" onChange={() => undefined} disabled />);
    expect(screen.getByTestId('quality-picker')).toBeDisabled();
  });
});
