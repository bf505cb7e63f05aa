import { Command } from 'commander';
import { registerDirectoryCommands } from './directory-command.js';
import { registerIdCommands } from './id-command.js';
import { registerStackCommands } from './stack-command.js';
import { registerStartCommand } from './start-command.js';

const program = new Command('bcss')
  .description('The social-security data-exchange switch: gateway, directory, authorizations, audit')
  .showHelpAfterError();

registerStartCommand(program);
registerStackCommands(program);
registerIdCommands(program);
registerDirectoryCommands(program);

await program.parseAsync(process.argv);
