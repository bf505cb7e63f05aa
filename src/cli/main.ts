import { Command } from 'commander';
import { registerIdCommands } from './id-command.js';
import { registerStackCommands } from './stack-command.js';

const program = new Command('bcss')
  .description('The social-security data-exchange switch: gateway, directory, authorizations, audit')
  .showHelpAfterError();

registerStackCommands(program);
registerIdCommands(program);

await program.parseAsync(process.argv);
