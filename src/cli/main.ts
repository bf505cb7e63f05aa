import { Command } from 'commander';
import { SettingsError } from '../app/settings.js';
import { registerAclCommands } from './acl-command.js';
import { registerAuditExportCommand } from './audit-export-command.js';
import { registerAuditIndexCommand } from './audit-index-command.js';
import { registerAuditVerifyCommand } from './audit-verify-command.js';
import { registerAuditQueryCommands } from './audit-query-command.js';
import { registerDemoCommand } from './demo-command.js';
import { registerDirectoryCommands } from './directory-command.js';
import { registerIdCommands } from './id-command.js';
import { registerRequestCommand } from './request-command.js';
import { registerSimulateCommands } from './simulate-command.js';
import { registerStackCommands } from './stack-command.js';
import { registerStartCommand } from './start-command.js';
import { registerTopicsCommands } from './topics-command.js';

const program = new Command('bcss')
  .description('The social-security data-exchange switch: gateway, directory, authorizations, audit')
  .showHelpAfterError();

registerStartCommand(program);
registerStackCommands(program);
registerIdCommands(program);
registerDirectoryCommands(program);
registerRequestCommand(program);
registerDemoCommand(program);
registerSimulateCommands(program);
registerAuditVerifyCommand(program);
registerAuditQueryCommands(program);
registerAuditExportCommand(program);
registerAuditIndexCommand(program);
registerAclCommands(program);
registerTopicsCommands(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  // An invalid environment variable: its name, rule and value, without a stack trace.
  if (!(error instanceof SettingsError)) throw error;
  process.stderr.write(`bcss: ${error.message}\n`);
  process.exit(1);
}
