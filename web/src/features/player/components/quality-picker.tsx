import { useId } from 'react';

export interface QualityOption {
  /** "auto" or the engine's level index as a string. */
  value: string;
  label: string;
}

export interface QualityPickerProps {
  options: QualityOption[];
  value: string;
  onChange: (value: string) => void;
  /** What is on screen now, shown beside "Auto". */
  renderedLabel?: string | null;
  disabled?: boolean;
}

/** Auto plus one entry per rung (1080p, 720p, …). A native select: keyboard and screen readers for free. */
export function QualityPicker({ options, value, onChange, renderedLabel, disabled }: QualityPickerProps) {
  const id = useId();
  return (
    <div className="flex items-center gap-2">
      <label htmlFor={id} className="text-sm font-medium">
        Quality
      </label>
      <select
        id={id}
        value={value}
        disabled={disabled}
        onChange={(e) => onChange(e.target.value)}
        className="h-9 rounded-md border border-input bg-background px-2 text-sm focus-visible:outline-none focus-visible:ring-2 focus-visible:ring-ring disabled:opacity-50"
        data-testid="quality-picker"
      >
        <option value="auto">{renderedLabel && value === 'auto' ? `Auto (${renderedLabel})` : 'Auto'}</option>
        {options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </select>
    </div>
  );
}
