from kubetrail.cli.main import main

main()
