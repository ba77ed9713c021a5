import { Link, Navigate, useNavigate, useSearchParams } from 'react-router-dom';
import { PageHeading } from '@/components/page-heading';
import { Card, CardContent } from '@/components/ui/card';
import { Spinner } from '@/components/ui/spinner';
import { authPath, safeNextPath, SignUpForm, useCurrentUser } from '@/features/auth';

/** /signup?next=/path — creates an account (signed in at once), then goes to `next`. */
export function SignUpRoute() {
  const [params] = useSearchParams();
  const navigate = useNavigate();
  const me = useCurrentUser();
  const rawNext = params.get('next');
  const next = safeNextPath(rawNext);

  if (me.isPending) return <Spinner label="Checking your session" />;
  if (me.data) return <Navigate to={next} replace />;
  return (
    <div className="mx-auto max-w-md">
      <PageHeading subtitle="An account lets you upload videos and choose who can watch them.">Create an account</PageHeading>
      <Card>
        <CardContent className="pt-4 sm:pt-6">
          <SignUpForm onSignedUp={() => navigate(next, { replace: true })} />
        </CardContent>
      </Card>
      <p className="mt-4 text-center text-sm text-muted-foreground">
        Already have an account?{' '}
        <Link to={authPath('signin', rawNext)} className="font-medium text-primary underline" data-testid="to-signin">
          Sign in
        </Link>
      </p>
    </div>
  );
}
