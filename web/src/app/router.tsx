import { createBrowserRouter, RouterProvider } from 'react-router-dom';
import { RequireAuth } from '@/features/auth';
import { Layout } from './layout';
import { LibraryRoute } from './routes/library';
import { MyVideosRoute } from './routes/my-videos';
import { NotFoundRoute } from './routes/not-found';
import { SignInRoute } from './routes/sign-in';
import { SignUpRoute } from './routes/sign-up';
import { UploadRoute } from './routes/upload';
import { WatchRoute } from './routes/watch';

// The server falls back to index.html for these paths, so deep links work.
const router = createBrowserRouter([
  {
    element: <Layout />,
    children: [
      {
        path: '/',
        element: (
          <RequireAuth>
            <UploadRoute />
          </RequireAuth>
        ),
      },
      { path: '/videos', element: <LibraryRoute /> },
      {
        path: '/mine',
        element: (
          <RequireAuth>
            <MyVideosRoute />
          </RequireAuth>
        ),
      },
      { path: '/signin', element: <SignInRoute /> },
      { path: '/signup', element: <SignUpRoute /> },
      { path: '/videos/:id', element: <WatchRoute /> },
      { path: '*', element: <NotFoundRoute /> },
    ],
  },
]);

export function AppRouter() {
  return <RouterProvider router={router} />;
}
