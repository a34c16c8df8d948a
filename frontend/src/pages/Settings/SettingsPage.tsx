import ApiTokensPanel from "../../components/Settings/ApiTokensPanel";
import TeamsPanel from "../../components/Settings/TeamsPanel";

export default function SettingsPage() {
  return (
    <>
      <div className="page-head">
        <div>
          <h1>Settings</h1>
          <p className="muted">Your API tokens and your teams.</p>
        </div>
      </div>
      <ApiTokensPanel />
      <TeamsPanel />
    </>
  );
}
