import { useQuery } from "@tanstack/react-query";
import { Navigate, Route, Routes } from "react-router";

import { errorMessage, isUnauthorized } from "./api";
import AppShell from "./components/Layout/AppShell";
import ComparePage from "./pages/Compare/ComparePage";
import DatasetPage from "./pages/Datasets/DatasetPage";
import DatasetsPage from "./pages/Datasets/DatasetsPage";
import JobPage from "./pages/Jobs/JobPage";
import JobsPage from "./pages/Jobs/JobsPage";
import NewJobPage from "./pages/Jobs/NewJobPage";
import LeaderboardPage from "./pages/Leaderboard/LeaderboardPage";
import PlaygroundPage from "./pages/Playground/PlaygroundPage";
import SettingsPage from "./pages/Settings/SettingsPage";
import NewStudyPage from "./pages/Studies/NewStudyPage";
import StudiesPage from "./pages/Studies/StudiesPage";
import StudyPage from "./pages/Studies/StudyPage";
import SetPasswordPage from "./pages/SignIn/SetPasswordPage";
import SignInPage from "./pages/SignIn/SignInPage";
import { meQuery } from "./queries";
import { TeamProvider } from "./team";

export default function App() {
  const me = useQuery(meQuery());
  if (me.isPending) return <p className="splash">Loading…</p>;
  if (me.isError) {
    if (isUnauthorized(me.error)) return <SignInPage />;
    return (
      <p className="splash error">
        The studio's API does not answer: {errorMessage(me.error)}.{" "}
        <button type="button" onClick={() => void me.refetch()}>
          Try again
        </button>
      </p>
    );
  }
  if (me.data.must_change_password) return <SetPasswordPage user={me.data} />;
  return (
    <TeamProvider>
      <AppShell user={me.data}>
        <Routes>
          <Route path="/" element={<Navigate to="/jobs" replace />} />
          <Route path="/datasets" element={<DatasetsPage />} />
          <Route path="/datasets/:datasetId" element={<DatasetPage />} />
          <Route path="/jobs" element={<JobsPage />} />
          <Route path="/jobs/new" element={<NewJobPage />} />
          <Route path="/jobs/:jobId" element={<JobPage />} />
          <Route path="/studies" element={<StudiesPage />} />
          <Route path="/studies/new" element={<NewStudyPage />} />
          <Route path="/studies/:studyId" element={<StudyPage />} />
          <Route path="/compare" element={<ComparePage />} />
          <Route path="/leaderboard" element={<LeaderboardPage />} />
          <Route path="/playground" element={<PlaygroundPage />} />
          <Route path="/settings" element={<SettingsPage />} />
          <Route path="*" element={<p className="empty">No such page. Pick a screen on the left.</p>} />
        </Routes>
      </AppShell>
    </TeamProvider>
  );
}
