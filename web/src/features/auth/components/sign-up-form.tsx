import { useState, type FormEvent } from 'react';
import { z } from 'zod';
import { Alert } from '@/components/ui/alert';
import { Button } from '@/components/ui/button';
import { Field, Input } from '@/components/ui/input';
import { errorMessage } from '@/lib/api-client';
import type { User } from '@/lib/user';
import { useRegister } from '../api/register';

// The server's limits (it checks them again).
export const MIN_PASSWORD = 8;
const MAX_PASSWORD = 1024;

export const signUpSchema = z.object({
  name: z.string().trim().max(100, 'Keep the name under 100 characters.'),
  email: z.string().trim().min(1, 'Enter your email address.').email('Enter a valid email address.'),
  password: z
    .string()
    .min(MIN_PASSWORD, `Use at least ${MIN_PASSWORD} characters.`)
    .max(MAX_PASSWORD, `Use at most ${MAX_PASSWORD} characters.`),
});

type Errors = { name?: string; email?: string; password?: string };

/** Creates an account; the server signs it in at once (session cookie), then `onSignedUp` runs. */
export function SignUpForm({ onSignedUp }: { onSignedUp: (user: User) => void }) {
  const [name, setName] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Errors>({});
  const register = useRegister();

  const submit = (e: FormEvent) => {
    e.preventDefault();
    const parsed = signUpSchema.safeParse({ name, email, password });
    if (!parsed.success) {
      const f = parsed.error.flatten().fieldErrors;
      setErrors({ name: f.name?.[0], email: f.email?.[0], password: f.password?.[0] });
      return;
    }
    setErrors({});
    const { name: n, ...rest } = parsed.data;
    register.mutate(n ? { ...rest, name: n } : rest, { onSuccess: (user) => onSignedUp(user) });
  };

  return (
    <form onSubmit={submit} className="space-y-4" noValidate aria-label="Create an account">
      <Field id="signup-name" label="Name (optional)" error={errors.name}>
        {(control) => (
          <Input
            {...control}
            autoComplete="name"
            maxLength={100}
            value={name}
            onChange={(e) => setName(e.target.value)}
            data-testid="signup-name"
          />
        )}
      </Field>
      <Field id="signup-email" label="Email" error={errors.email}>
        {(control) => (
          <Input
            {...control}
            type="email"
            autoComplete="email"
            value={email}
            onChange={(e) => setEmail(e.target.value)}
            data-testid="signup-email"
          />
        )}
      </Field>
      <Field id="signup-password" label={`Password (at least ${MIN_PASSWORD} characters)`} error={errors.password}>
        {(control) => (
          <Input
            {...control}
            type="password"
            autoComplete="new-password"
            value={password}
            onChange={(e) => setPassword(e.target.value)}
            data-testid="signup-password"
          />
        )}
      </Field>
      {register.isError && (
        <Alert tone="error" title="Could not create the account" data-testid="signup-error">
          {errorMessage(register.error)}
        </Alert>
      )}
      <Button type="submit" className="w-full" disabled={register.isPending} data-testid="signup-submit">
        {register.isPending ? 'Creating the account…' : 'Create account'}
      </Button>
    </form>
  );
}
