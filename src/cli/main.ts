import { Command } from 'commander';

const program = new Command('bcss')
  .description('The social-security data-exchange switch: gateway, directory, authorizations, audit')
  .showHelpAfterError();

await program.parseAsync(process.argv);
