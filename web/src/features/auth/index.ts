// The auth feature's public surface, for the app's routes.
export { useCurrentUser } from './api/get-me';
export { SignInForm } from './components/sign-in-form';
export { SignUpForm } from './components/sign-up-form';
export { RequireAuth } from './components/require-auth';
export { AccountMenu } from './components/account-menu';
export { authPath, safeNextPath } from './lib/next-path';
